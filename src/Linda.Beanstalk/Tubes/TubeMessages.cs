using Akka.Actor;

namespace Linda.Beanstalk;

/// <summary>
/// The messages between a front end's connections and its tube hub (a <see cref="TubeHub"/>, or a node's
/// <see cref="ShardedTubes"/>), between a node's <see cref="ShardedTubes"/> and the <see cref="TubeDirectory"/>,
/// and the directory's event.
/// </summary>
public static class BeanstalkProtocol
{
    /// <summary>Marks the messages <see cref="BeanstalkSerializer"/> writes.</summary>
    public interface IBeanstalkMessage;

    /// <summary>
    /// Numbers the tube if new and answers its <see cref="Tube"/> (or <see cref="TubeRefused"/>); a
    /// <see cref="TubeDirectory"/> answers its <see cref="TubeNumbered"/>.
    /// </summary>
    public sealed record GetTube(string Name) : IBeanstalkMessage;

    /// <summary>
    /// Finds a tube by name or, when <paramref name="Name"/> is null, by number, without creating it.
    /// Answered with <see cref="TubeFound"/>; by a <see cref="TubeDirectory"/>, with <see cref="TubeNumbers"/> of none or one.
    /// </summary>
    public sealed record FindTube(string? Name, long Number) : IBeanstalkMessage;

    /// <summary>Asks for every tube. Answered with <see cref="TubeList"/>; by a <see cref="TubeDirectory"/>, with <see cref="TubeNumbers"/>.</summary>
    public sealed record ListTubes : IBeanstalkMessage
    {
        /// <summary>The one instance.</summary>
        public static readonly ListTubes Instance = new();
    }

    /// <summary>
    /// A tube: its name, its number (the high bits of its job ids) and its queue: what forwards to the
    /// queue actor (see <see cref="JobQueue.Locate"/>), the <see cref="TubeHub"/>'s child (a queue's
    /// supervisor) or, on the sharded placement, the node's route into the queues' shard region.
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
    /// finishes its writes and stops (<see cref="JobQueueActor.StopGracefully"/>), then the hub. A
    /// <see cref="TubeDirectory"/> stops once its write in flight is done.
    /// </summary>
    public sealed record HandOver : IBeanstalkMessage
    {
        /// <summary>The one instance.</summary>
        public static readonly HandOver Instance = new();
    }

    /// <summary>
    /// The directory's event (a <see cref="TubeHub"/>'s or a <see cref="TubeDirectory"/>'s): <paramref name="Name"/>
    /// has number <paramref name="Number"/> for good. Also the <see cref="TubeDirectory"/>'s answer to <see cref="GetTube"/>.
    /// </summary>
    public sealed record TubeNumbered(string Name, long Number) : IBeanstalkMessage;

    /// <summary>The <see cref="TubeDirectory"/>'s answer to <see cref="FindTube"/> (none or one) and <see cref="ListTubes"/> (every tube, by number).</summary>
    public sealed record TubeNumbers(IReadOnlyList<TubeNumbered> Tubes) : IBeanstalkMessage;
}
