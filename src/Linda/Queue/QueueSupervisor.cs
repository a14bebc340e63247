using Akka.Actor;
using Akka.Event;

namespace Linda;

/// <summary>
/// Keeps a queue actor serving. It forwards every message to the queue actor (the sender is kept, so
/// replies and leases go to the original sender). When the queue actor stops, as Akka.Persistence
/// makes it do when the journal fails a write, the supervisor holds incoming messages, starts a new
/// one after a back-off (doubling on repeated failures), and hands it the held messages; the new
/// actor recovers from the journal first, so nothing that failed to write is in its state.
/// </summary>
internal sealed class QueueSupervisor : UntypedActor, IWithUnboundedStash, IWithTimers
{
    private readonly Props _childProps;
    private readonly TimeSpan _minBackoff;
    private readonly TimeSpan _maxBackoff;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef _child = ActorRefs.Nobody;
    private int _restarts;
    private DateTimeOffset _startedAt;

    private readonly TimeProvider _time;

    private readonly string _queue;
    private readonly JournalHealth _health;

    public QueueSupervisor(Props childProps, TimeSpan minBackoff, TimeSpan maxBackoff, TimeProvider time, string queue, JournalHealth health)
    {
        _queue = queue;
        _health = health;
        _time = time;
        _childProps = childProps;
        _minBackoff = minBackoff;
        _maxBackoff = maxBackoff;
    }

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Sent by the queue actor when it is about to stop: hold messages from now on.</summary>
    public sealed class ChildFailing
    {
        public static readonly ChildFailing Instance = new();
    }

    protected override void PreStart() => StartChild();

    private void StartChild()
    {
        _child = Context.Watch(Context.ActorOf(_childProps, "queue"));
        _startedAt = _time.GetUtcNow();
    }

    private bool _stopping;

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case JobQueueActor.StopGracefully:
                _stopping = true;
                _child.Forward(message);
                break;
            case Terminated t when t.ActorRef.Equals(_child) && _stopping:
                Context.Stop(Self);
                break;
            case Terminated t when t.ActorRef.Equals(_child):
                ScheduleRestart();
                Become(Restarting);
                break;
            case ChildFailing:
                Become(Restarting);
                break;
            default:
                _child.Forward(message);
                break;
        }
    }

    private void Restarting(object message)
    {
        switch (message)
        {
            case Terminated t when t.ActorRef.Equals(_child):
                ScheduleRestart();
                break;
            case JobQueueActor.StopGracefully:
                // No child to wait for: what waits here was never applied; its senders ask again.
                Context.Stop(Self);
                break;
            case Restart:
                StartChild();
                Become(OnReceive);
                Stash.UnstashAll();
                break;
            case ChildFailing:
                break;
            case JobQueue.GetHealth:
                // No queue actor to ask: the supervisor knows why.
                Sender.Tell(_health.Report(_queue, running: false, _time.GetUtcNow(), null));
                break;
            default:
                Stash.Stash();
                break;
        }
    }

    private void ScheduleRestart()
    {
        // A child that lived long enough counts as healthy: start the back-off over.
        if (_time.GetUtcNow() - _startedAt > _maxBackoff)
            _restarts = 0;
        var backoff = TimeSpan.FromTicks(Math.Min(_maxBackoff.Ticks, _minBackoff.Ticks << Math.Min(_restarts, 20)));
        _restarts++;
        _log.Warning("queue actor {0} stopped; starting it again from its journal in {1} ms", _child.Path, backoff.TotalMilliseconds);
        Timers.StartSingleTimer("restart", Restart.Instance, backoff);
    }

    private sealed class Restart
    {
        public static readonly Restart Instance = new();
    }
}
