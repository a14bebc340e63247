using Akka.Actor;

namespace Linda.Beanstalk;

/// <summary>The messages between a front end's connections and the <see cref="TubeHub"/>, and the hub's event.</summary>
public static class BeanstalkProtocol
{
    /// <summary>Marks the messages <see cref="BeanstalkSerializer"/> writes.</summary>
    public interface IBeanstalkMessage;

    /// <summary>Numbers the tube if new and answers its <see cref="Tube"/> (or <see cref="TubeRefused"/>).</summary>
    public sealed record GetTube(string Name) : IBeanstalkMessage;

    /// <summary>Finds a tube by name or, when <paramref name="Name"/> is null, by number, without creating it. Answered with <see cref="TubeFound"/>.</summary>
    public sealed record FindTube(string? Name, long Number) : IBeanstalkMessage;

    /// <summary>Asks for every tube. Answered with <see cref="TubeList"/>.</summary>
    public sealed record ListTubes : IBeanstalkMessage
    {
        /// <summary>The one instance.</summary>
        public static readonly ListTubes Instance = new();
    }

    /// <summary>
    /// A tube: its name, its number (the high bits of its job ids) and its queue (the hub's child: a
    /// queue's supervisor, which forwards to the queue actor; see <see cref="JobQueue.Locate"/>).
    /// </summary>
    public sealed record Tube(string Name, long Number, IActorRef Queue) : IBeanstalkMessage;

    /// <summary>The answer to <see cref="FindTube"/>.</summary>
    public sealed record TubeFound(Tube? Tube) : IBeanstalkMessage;

    /// <summary>Every tube, by number.</summary>
    public sealed record TubeList(IReadOnlyList<Tube> Tubes) : IBeanstalkMessage;

    /// <summary>The tube can't be made (a bad name, or no numbers left).</summary>
    public sealed record TubeRefused(string Reason) : IBeanstalkMessage;

    /// <summary>
    /// Stops the hub for a hand-over (its cluster singleton's termination message): every tube's queue
    /// finishes its writes and stops (<see cref="JobQueueActor.StopGracefully"/>), then the hub.
    /// </summary>
    public sealed record HandOver : IBeanstalkMessage
    {
        /// <summary>The one instance.</summary>
        public static readonly HandOver Instance = new();
    }

    /// <summary>The hub's event: <paramref name="Name"/> has number <paramref name="Number"/> for good.</summary>
    public sealed record TubeNumbered(string Name, long Number) : IBeanstalkMessage;
}
