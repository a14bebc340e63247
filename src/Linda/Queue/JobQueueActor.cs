using Linda.Telemetry;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Persistence;
using static Linda.JobQueue;

namespace Linda;

/// <summary>
/// The persistent actor of one queue. It checks each command against <see cref="JobQueueState"/> and
/// applies the resulting event at once (so the next command sees it); the event joins the open batch
/// of <see cref="WriteBatches"/>, which is written as one journal row (<see cref="EventBatch"/>) as soon
/// as no other write is in flight. A reply goes out from the callback of the write that holds its event,
/// in order; a reply that changes nothing waits for the writes before it, or goes out at once when none
/// is pending. So a reply means its event is in the journal, and a busy queue writes everything applied
/// during one write in the next, as one row.
/// </summary>
/// <remarks>
/// One timer (through <see cref="TimeProvider"/>) wakes the actor at the soonest of: a delayed job's
/// due time, a lease's deadline, the end of a pause, a waiting reserve's timeout. Holders of leases
/// and waiting reservers are watched: when one dies, its leases are lost (persisted, the attempt
/// counts) and its jobs go back to Ready at once.
/// Create it with <see cref="Props"/>, which puts it under a supervisor that starts it again from
/// its journal when a write fails.
/// </remarks>
public sealed partial class JobQueueActor : UntypedPersistentActor
{
    private readonly string _queue;
    private readonly LindaSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private JobQueueState _state;

    private readonly WriteBatches _writes;
    private readonly WaitingReserves _waiting = new();
    private readonly LeaseHolders _holders;
    private readonly SnapshotPolicy _snapshots;
    private readonly CommandCounters _counters = new();

    private ITimer? _timer;
    private DateTimeOffset? _timerDue;
    private bool _stopping;
    private readonly QueueTelemetry _telemetry;
    private long _writeStartedAt;
    private DateTimeOffset _writeStartedClock;
    private readonly JournalHealth _journalHealth;

    /// <summary>Use <see cref="Props"/>.</summary>
    public JobQueueActor(string queue, LindaSettings settings, TimeProvider time) : this(queue, settings, time, new JournalHealth())
    {
    }

    /// <summary>Use <see cref="Props"/>: a queue actor that shares <paramref name="health"/> with its supervisor.</summary>
    public JobQueueActor(string queue, LindaSettings settings, TimeProvider time, JournalHealth health)
    {
        _journalHealth = health;
        _queue = queue;
        _state = new JobQueueState(queue, settings.Limits);
        _settings = settings;
        _time = time;
        _writes = new WriteBatches(settings.MaxWriteBytes);
        _holders = new LeaseHolders(Context);
        _snapshots = new SnapshotPolicy(settings.SnapshotEvery);
        _telemetry = new QueueTelemetry(queue, time);
        if (settings.JournalPluginId is not null)
            JournalPluginId = settings.JournalPluginId;
        if (settings.SnapshotPluginId is not null)
            SnapshotPluginId = settings.SnapshotPluginId;
    }

    /// <summary>
    /// For tests and tools: the queue replies with a <see cref="JobQueueSnapshot"/> of its whole state.
    /// A protocol message (LindaSerializer writes it), so it reaches a queue on another node.
    /// </summary>
    internal sealed class InspectState : IQueueMessage
    {
        public static readonly InspectState Instance = new();
    }

    /// <summary>
    /// Stops the queue once everything it applied is in the journal (the termination message of its
    /// cluster singleton, so a queue handed to another node never races its own last writes). Commands
    /// that arrive meanwhile, and reserves still waiting, are answered with <see cref="Unavailable"/>.
    /// </summary>
    public sealed class StopGracefully
    {
        /// <summary>The one instance.</summary>
        public static readonly StopGracefully Instance = new();
    }

    /// <inheritdoc />
    public override Recovery Recovery => _settings.IgnoreSnapshots ? new Recovery(SnapshotSelectionCriteria.None) : base.Recovery;

    /// <summary>The persistence id of a queue's actor: <c>linda-queue-NAME</c>.</summary>
    public static string PersistenceIdOf(string queue) => "linda-queue-" + queue;

    /// <inheritdoc />
    public override string PersistenceId => PersistenceIdOf(_queue);

    /// <summary>
    /// Props for the queue <paramref name="queue"/>, supervised: when its journal fails a write, the
    /// actor answers the pending commands with <see cref="WriteFailed"/> and is started again from its
    /// journal; commands sent meanwhile wait.
    /// </summary>
    /// <exception cref="ArgumentException">The queue name is not valid (see <see cref="Names"/>).</exception>
    public static Props Props(string queue, LindaSettings settings, TimeProvider? time = null)
    {
        var invalid = QueuePartitions.CheckQueueName(queue);
        if (invalid is not null)
            throw new ArgumentException(invalid, nameof(queue));
        var clock = time ?? TimeProvider.System;
        var health = new JournalHealth();
        var child = Akka.Actor.Props.Create(() => new JobQueueActor(queue, settings, clock, health));
        return Akka.Actor.Props.Create(() => new QueueSupervisor(child, settings.RestartBackoff, settings.RestartBackoffMax, clock, queue, health));
    }

    // ================================================================ recovery

    /// <inheritdoc />
    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer { Snapshot: JobQueueSnapshot snapshot }:
                _state = JobQueueState.FromSnapshot(snapshot, _settings.Limits);
                _snapshots.Offered(snapshot.Jobs.Count);
                break;
            case EventBatch batch:
                _state.Apply(batch);
                _snapshots.Applied(batch.Events.Count);
                break;
            case IEvent e: // written one event per row, before batches
                _state.Apply(e);
                _snapshots.Applied();
                break;
            case RecoveryCompleted:
                _log.Info("queue {0} recovered at sequence number {1}: {2} ready, {3} delayed, {4} reserved, {5} buried",
                    _queue, LastSequenceNr, _state.ReadyCount, _state.DelayedCount, _state.ReservedCount, _state.BuriedCount);
                foreach (var path in _state.Holders.ToArray())
                    WatchRecoveredHolder(path);
                var count = _settings.PartitionsOf(QueuePartitions.TryParse(_queue, out var partitioned, out _) ? partitioned : _queue);
                if (QueuePartitions.CheckRecovered(_queue, count, _state.Count, _state.Jobs) is { } misplaced)
                    _log.Error("linda: {0}", misplaced);
                if (_settings.OutcomeEvents)
                    _state.Endings = []; // from now on: what recovery replayed was told before, or lost with the crash
                _telemetry.Recovered(_state);
                AfterCommand();
                break;
        }
    }

    /// <inheritdoc />
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _log.Error(reason, "queue {0} failed to recover (at {1})", _queue, message?.GetType().Name ?? "start");
        base.OnRecoveryFailure(reason, message);
    }

    // ================================================================ commands

    /// <inheritdoc />
    protected override void OnCommand(object message)
    {
        if (message is Flush)
        {
            _flushSent = false;
            WriteNext();
            MaybeSnapshot();
            return;
        }
        if (_stopping)
        {
            if (message is SaveSnapshotSuccess or SaveSnapshotFailure)
            {
                // The writes it paused finish, and then the stop.
                OnSnapshotDone();
                WriteNext();
                return;
            }
            // Told at once (it reveals nothing): a reply queued behind the writes would come after the stop.
            if (message is ICommand or InspectState)
                Sender.Tell(new Unavailable($"queue {_queue} is stopping (moving to another node); nothing changed, send the command again"), Self);
            return;
        }
        if (message is StopGracefully)
        {
            OnStopGracefully();
            return;
        }
        _state.Advance(Clock());
        switch (message)
        {
            case Push m: _counters.Count(CountedCommand.Push); Record(_state.Push(m)); break;
            case Reserve m: _counters.Count(CountedCommand.Reserve); OnReserve(m); break;
            case Complete m: _counters.Count(CountedCommand.Complete); Verdict(_state.Complete(m)); break;
            case Release m: _counters.Count(CountedCommand.Release); Verdict(_state.Release(m)); break;
            case Bury m: _counters.Count(CountedCommand.Bury); Verdict(_state.Bury(m)); break;
            case Touch m: _counters.Count(CountedCommand.Touch); Verdict(_state.Touch(m)); break;
            case Kick m: _counters.Count(CountedCommand.Kick); Record(_state.Kick(m)); break;
            case KickJob m: _counters.Count(CountedCommand.KickJob); Record(_state.KickJob(m)); break;
            case Delete m: _counters.Count(CountedCommand.Delete); Verdict(_state.Delete(m)); break;
            case Peek m: _counters.Count(CountedCommand.Peek); Answer(_state.View(m.JobId) ?? (IReply)new NotFound(m.JobId ?? "")); break;
            case PeekReady: _counters.Count(CountedCommand.PeekReady); Answer(_state.PeekReady() ?? (IReply)new NoJob(JobState.Ready)); break;
            case PeekDelayed: _counters.Count(CountedCommand.PeekDelayed); Answer(_state.PeekDelayed() ?? (IReply)new NoJob(JobState.Delayed)); break;
            case PeekBuried: _counters.Count(CountedCommand.PeekBuried); Answer(_state.PeekBuried() ?? (IReply)new NoJob(JobState.Buried)); break;
            case GetJob m: _counters.Count(CountedCommand.GetJob); Answer(_state.View(m.JobId) ?? (IReply)new NotFound(m.JobId ?? "")); break;
            case GetStats: _counters.Count(CountedCommand.Stats); Answer(Stats()); break;
            case ListJobs m: Answer(_state.ListJobs(m).Reply); break;
            case AddOrUpdateSchedule m: Record(_state.SaveSchedule(m)); break;
            case RemoveSchedule m: Record(_state.RemoveSchedule(m)); break;
            case Cancel m: _counters.Count(CountedCommand.Cancel); OnCancel(m); break;
            case ReportProgress m: _state.SetProgress(m); break;
            case GetSchedules: Answer(new ScheduleList(_state.Schedules())); break;
            case Pause m: _counters.Count(CountedCommand.Pause); Record(_state.Pause(m)); break;
            case JobQueue.Resume: _counters.Count(CountedCommand.Resume); Record(_state.Resume()); break;
            case ReserveJob m: _counters.Count(CountedCommand.ReserveJob); OnReserveJob(m); break;
            case CancelReserve: OnCancelReserve(); break;
            case Locate: Send(Sender, new Located(Self), inOrder: true); break;
            case GetHealth: Send(Sender, _journalHealth.Report(_queue, running: true, Clock(), _writes.InFlight is null ? null : _writeStartedClock), inOrder: true); break;
            case InspectState: Send(Sender, _state.ToSnapshot()); break;
            case Tick: _timerDue = null; break; // fired, so no longer armed (it may fire a little early)
            case Terminated t: HolderGone(t.ActorRef, "died"); break;
            case ClusterEvent.MemberRemoved r: OnNodeRemoved(r.Member.Address); break;
            case NodeGone g: OnNodeRemoved(g.Address); break;
            case SaveSnapshotSuccess s: OnSnapshotSaved(s.Metadata); break;
            case SaveSnapshotFailure f:
                OnSnapshotDone();
                _log.Warning(f.Cause, "queue {0}: snapshot at {1} failed", _queue, f.Metadata.SequenceNr);
                break;
            case DeleteMessagesSuccess or DeleteSnapshotsSuccess: break;
            case DeleteMessagesFailure f: _log.Warning(f.Cause, "queue {0}: deleting old events failed", _queue); break;
            case DeleteSnapshotsFailure f: _log.Warning(f.Cause, "queue {0}: deleting old snapshots failed", _queue); break;
            default: Unhandled(message); return;
        }
        AfterCommand();
    }

    /// <summary>After every message: make the runs of schedules that are due, serve waiters, set the one timer, write what waits (see <see cref="Flush"/>), maybe snapshot.</summary>
    private void AfterCommand()
    {
        FireSchedules();
        ServeWaiters();
        ScheduleTimer();
        _telemetry.Publish(_state);
        if (_writes.InFlight is null && !_writes.NothingWaiting && !_writes.Paused && !_flushSent)
        {
            _flushSent = true;
            Self.Tell(Flush.Instance);
        }
        MaybeSnapshot();
        _holders.SweepIdle((actor, holder) => _waiting.Of(actor) == 0 && !_state.HoldsLeases(holder.Path));
        TellEndings();
    }

    /// <summary>
    /// With <see cref="LindaSettings.OutcomeEvents"/>: the jobs that ended during this message are told
    /// on the node's EventStream (<see cref="JobEnded"/>) once every pending write is done (their events
    /// are in it), or at once when nothing is pending (a burial that time alone decided). A write that
    /// fails drops them with it: they did not happen.
    /// </summary>
    private void TellEndings()
    {
        if (_state.Endings is not { Count: > 0 } endings)
            return;
        var ended = endings.ToArray();
        endings.Clear();
        var stream = Context.System.EventStream;
        if (!_writes.AfterAll(() => Publish(stream, ended)))
            Publish(stream, ended);

        static void Publish(Akka.Event.EventStream stream, JobEnded[] ended)
        {
            foreach (var e in ended)
                stream.Publish(e);
        }
    }

    /// <summary>
    /// A cancel: recorded; for a running job, its holder is told once the request is written (on
    /// whichever node it runs), so the worker's release after it finds the job marked.
    /// </summary>
    private void OnCancel(Cancel m)
    {
        var decision = _state.Cancel(m);
        Record(decision);
        if (decision.Event is JobCancelRequested requested && _state.LeaseOf(requested.JobId) is { } lease && _holders.ActorAt(lease.Holder) is { } holder)
            _writes.ReplyWithLastEvent(holder, new CancelJob(requested.JobId, lease.Token));
    }

    /// <summary>Each due schedule's decision is applied and written like a command's (nobody waits for its reply).</summary>
    private void FireSchedules()
    {
        // Each decision takes its schedule off the due ones or its queued run out: at most two per schedule.
        for (var left = 2 * _state.ScheduleCount; left > 0 && _state.FireDueSchedule() is { Event: { } evt }; left--)
            Apply(evt);
    }

    private void OnStopGracefully()
    {
        _stopping = true;
        _log.Info("queue {0} stopping at sequence number {1}", _queue, LastSequenceNr);
        var unavailable = new Unavailable($"queue {_queue} is stopping (moving to another node); reserve again");
        foreach (var holder in _waiting.TakeAll())
            Send(holder, unavailable);
        if (!_writes.AfterAll(() => Context.Stop(Self)))
            Context.Stop(Self);
    }

    // ================================================================ applying, writing and replying

    /// <summary>A command's decision: its event applied and its reply sent once written, or a refusal answered.</summary>
    private void Record(Decision decision)
    {
        if (decision.Event is not { } evt)
        {
            Answer(decision.Reply);
            return;
        }
        Apply(evt);
        _writes.ReplyWithLastEvent(Sender, decision.Reply);
    }

    /// <summary>
    /// A verdict or a delete: recorded, and answered once written or, with
    /// <see cref="LindaSettings.EarlyVerdicts"/>, at once, right after the sender's earlier replies (the
    /// write follows; a crash before it loses the verdict).
    /// </summary>
    private void Verdict(Decision decision)
    {
        if (!_settings.EarlyVerdicts || decision.Event is not { } evt)
        {
            Record(decision);
            return;
        }
        Apply(evt);
        if (!_writes.ReplyInOrder(Sender, decision.Reply))
            Sender.Tell(decision.Reply, Self);
    }

    /// <summary>Applies <paramref name="evt"/> to the state now; it is written with the open batch.</summary>
    private void Apply(IEvent evt)
    {
        _state.Apply(evt);
        _writes.Add(evt);
        _snapshots.Applied();
        _telemetry.Applied(evt);
    }

    /// <summary>A reply that changes nothing: after every pending write, or at once when none is pending.</summary>
    private void Answer(IReply reply) => Send(Sender, reply);

    /// <summary>
    /// Sends <paramref name="message"/> after every pending write, or with <paramref name="inOrder"/>
    /// (it reveals nothing) only after the recipient's earlier replies; at once when nothing is pending.
    /// </summary>
    private void Send(IActorRef to, object message, bool inOrder = false)
    {
        if (!(inOrder ? _writes.ReplyInOrder(to, message) : _writes.ReplyAfterAll(to, message)))
            to.Tell(message, Self);
    }

    /// <summary>Writes the oldest waiting batch as one journal row, unless a write is in flight.</summary>
    private void WriteNext()
    {
        if (_writes.StartNext() is { } batch)
        {
            _writeStartedAt = System.Diagnostics.Stopwatch.GetTimestamp();
            _writeStartedClock = _time.GetUtcNow();
            PersistAsync(new EventBatch(batch.Events), OnWritten);
        }
    }

    private void OnWritten(EventBatch _)
    {
        var batch = _writes.Written();
        _telemetry.Written(_writeStartedAt, batch.Events.Count, batch.Pushes);
        _journalHealth.Written(_time.GetUtcNow());
        foreach (var (to, message) in batch.Replies)
            to.Tell(message, Self);
        if (batch.Then is { } then)
        {
            foreach (var action in then)
                action();
        }
        _writes.Recycle(batch);
        WriteNext();
        MaybeSnapshot();
    }

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "queue {0}: the journal failed to write at {1}; answering the pending commands and restarting from the journal", _queue, sequenceNr);
        _journalHealth.Failed(_time.GetUtcNow(), $"the journal failed to write at {sequenceNr}: {cause.Message}");
        FailPending($"the journal failed to write: {cause.Message}");
        // Akka.Persistence stops the actor now; the supervisor starts it again from the journal.
    }

    /// <inheritdoc />
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "queue {0}: the journal rejected the write at {1}; restarting from the journal", _queue, sequenceNr);
        _journalHealth.Failed(_time.GetUtcNow(), $"the journal rejected the write at {sequenceNr}: {cause.Message}");
        FailPending($"the journal rejected the write: {cause.Message}");
        // The state already holds the rejected events: start again from what the journal has.
        Context.Stop(Self);
    }

    /// <summary>
    /// A write failed: nothing in it, or applied after it, will be written. Every reply owed is
    /// answered <see cref="WriteFailed"/> (no reply may reveal what the restarted queue won't have).
    /// </summary>
    private void FailPending(string message)
    {
        Context.Parent.Tell(QueueSupervisor.ChildFailing.Instance);
        var failure = new WriteFailed(message);
        foreach (var batch in _writes.TakeAll())
        {
            foreach (var (to, reply) in batch.Replies)
            {
                if (reply is IReply)
                    to.Tell(failure, Self);
            }
        }
        // Waiting reserves die with this incarnation: say so, so that no one waits for an answer that never comes.
        var unavailable = new Unavailable($"queue {_queue} is restarting after a failed write; reserve again");
        foreach (var holder in _waiting.TakeAll())
            holder.Tell(unavailable, Self);
    }

    // ================================================================ stats

    private QueueStats Stats() =>
        new(_queue, _state.ReadyCount, _state.UrgentCount, _state.DelayedCount, _state.ReservedCount,
            _state.BuriedCount, _waiting.Count, _state.TotalJobs, _state.PausedUntil, _counters.ByName(), _state.LeaseTimeouts,
            _state.LagAt(Clock()), _telemetry.Failures, _state.TotalCancelled);

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    /// <summary>
    /// Writes what waits, once the messages already in the mailbox are applied: commands that arrive
    /// together (a client's delete and its next reserve, a burst of pushes) go into the first write
    /// together, and a command on an idle queue is still written at once, with no timer.
    /// </summary>
    private sealed class Flush
    {
        public static readonly Flush Instance = new();
    }

    private bool _flushSent;
}
