using Akka.Actor;

namespace Linda.Tests.ClusterNode;

/// <summary>
/// Says on stdout when the queue's singleton runs on this node: asks the singleton's local path with
/// <see cref="Identify"/> every 100 ms until an actor answers ("QUEUE-HERE"), then watches it and
/// says "QUEUE-GONE" when it stops. The cluster singleton manager names its child "singleton".
/// </summary>
internal sealed class QueueWatcher : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
    private IActorRef? _singleton;

    public QueueWatcher(string path)
    {
        Receive<Poll>(_ => Context.ActorSelection(path).Tell(new Identify(null)));
        Receive<ActorIdentity>(identity =>
        {
            if (identity.Subject is not { } singleton || _singleton is not null)
                return;
            _singleton = singleton;
            Context.Watch(singleton);
            Timers.Cancel(Poll.Instance);
            Out.Line("QUEUE-HERE");
        });
        Receive<Terminated>(_ =>
        {
            _singleton = null;
            Out.Line("QUEUE-GONE");
            Timers.StartPeriodicTimer(Poll.Instance, Poll.Instance, Interval);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string path) => Akka.Actor.Props.Create(() => new QueueWatcher(path));

    protected override void PreStart() => Timers.StartPeriodicTimer(Poll.Instance, Poll.Instance, Interval);

    private sealed class Poll
    {
        public static readonly Poll Instance = new();
    }
}
