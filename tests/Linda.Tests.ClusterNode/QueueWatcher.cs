using Akka.Actor;
using static Linda.JobQueue;

namespace Linda.Tests.ClusterNode;

/// <summary>
/// Says on stdout when the queue runs on this node, whatever its placement (a singleton or a sharded
/// entity): asks the queue <see cref="Locate"/> every 100 ms through this node's address of it until
/// the queue actor that answers is a local one ("QUEUE-HERE"), then watches it and says "QUEUE-GONE"
/// when it stops.
/// </summary>
internal sealed class QueueWatcher : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(1);
    private IActorRef? _queueActor;

    public QueueWatcher(IActorRef queue)
    {
        Receive<Poll>(_ => queue.Ask<IReply>(Locate.Instance, AskTimeout).PipeTo(Self, failure: e => new Status.Failure(e)));
        Receive<Located>(located =>
        {
            if (!located.Queue.Path.Address.HasLocalScope || _queueActor is not null)
                return;
            _queueActor = located.Queue;
            Context.Watch(located.Queue);
            Timers.Cancel(Poll.Instance);
            Out.Line("QUEUE-HERE");
        });
        Receive<Terminated>(_ =>
        {
            _queueActor = null;
            Out.Line("QUEUE-GONE");
            Timers.StartPeriodicTimer(Poll.Instance, Poll.Instance, Interval);
        });
        Receive<IReply>(_ => { }); // Unavailable while it moves: the next poll asks again
        Receive<Status.Failure>(_ => { });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef queue) => Akka.Actor.Props.Create(() => new QueueWatcher(queue));

    protected override void PreStart() => Timers.StartPeriodicTimer(Poll.Instance, Poll.Instance, Interval);

    private sealed class Poll
    {
        public static readonly Poll Instance = new();
    }
}
