using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Persistence;
using static Linda.JobQueue;

namespace Linda;

/// <summary>
/// The persistent actor of one queue. It validates a command against <see cref="JobQueueState"/>,
/// applies the resulting event at once (so the next command sees it), persists it with
/// <c>PersistAsync</c> and replies from the persist callback: a reply means the event is in the
/// journal, and every event persisted during one journal write goes into the next transaction.
/// Replies that change nothing go through <c>DeferAsync</c>, so they never reveal a change that is
/// not yet in the journal.
/// </summary>
/// <remarks>
/// One timer (through <see cref="TimeProvider"/>) wakes the actor at the soonest of: a delayed job's
/// due time, a lease's deadline, the end of a pause, a waiting reserve's timeout. Holders of leases
/// and waiting reservers are watched: when one dies, its leases are lost (persisted, the attempt
/// counts) and its jobs go back to Ready at once.
/// Create it with <see cref="Props"/>, which puts it under a supervisor that starts it again from
/// its journal when a write fails.
/// </remarks>
public sealed class JobQueueActor : UntypedPersistentActor
{
    private readonly JobQueueState _initial;
    private readonly LindaSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private JobQueueState _state;

    private readonly LinkedList<Waiter> _waiters = new();
    private readonly PriorityQueue<Waiter, DateTimeOffset> _waiterTimeouts = new();
    private readonly Dictionary<IActorRef, Holder> _holders = new();
    private readonly Queue<IActorRef> _pendingReplies = new();
    private readonly Dictionary<string, int> _pendingByJob = new(StringComparer.Ordinal);
    private int _pendingKicks;
    private readonly long[] _commandCounts = new long[CommandNames.Length];

    private ITimer? _timer;
    private DateTimeOffset? _timerDue;
    private long _sequenceNr;
    private long _eventsSinceSnapshot;
    private long _jobsAtLastSnapshot;
    private bool _snapshotPending;
    private int _sweepAt = 1024;

    /// <summary>Use <see cref="Props"/>.</summary>
    public JobQueueActor(string queue, LindaSettings settings, TimeProvider time)
    {
        _initial = new JobQueueState(queue, settings.Limits);
        _state = _initial;
        _settings = settings;
        _time = time;
        _cluster = ((ExtendedActorSystem)Context.System).Provider is ClusterActorRefProvider ? Cluster.Get(Context.System) : null;
        if (settings.JournalPluginId is not null)
            JournalPluginId = settings.JournalPluginId;
        if (settings.SnapshotPluginId is not null)
            SnapshotPluginId = settings.SnapshotPluginId;
    }

    /// <summary>For tests and tools: the queue replies with a <see cref="JobQueueSnapshot"/> of its whole state.</summary>
    internal sealed class InspectState
    {
        public static readonly InspectState Instance = new();
    }

    /// <summary>
    /// Stops the queue once everything it persisted is in the journal (the termination message of its
    /// cluster singleton, so a queue handed to another node never races its own last writes). Commands
    /// that arrive meanwhile, and reserves still waiting, are answered with <see cref="Unavailable"/>.
    /// </summary>
    public sealed class StopGracefully
    {
        /// <summary>The one instance.</summary>
        public static readonly StopGracefully Instance = new();
    }

    private bool _stopping;

    /// <inheritdoc />
    public override Recovery Recovery => _settings.IgnoreSnapshots ? new Recovery(SnapshotSelectionCriteria.None) : base.Recovery;

    /// <summary>The persistence id of a queue's actor: <c>linda-queue-NAME</c>.</summary>
    public static string PersistenceIdOf(string queue) => "linda-queue-" + queue;

    /// <inheritdoc />
    public override string PersistenceId => PersistenceIdOf(_initial.Queue);

    /// <summary>
    /// Props for the queue <paramref name="queue"/>, supervised: when its journal fails a write, the
    /// actor answers the pending commands with <see cref="WriteFailed"/> and is started again from its
    /// journal; commands sent meanwhile wait.
    /// </summary>
    /// <exception cref="ArgumentException">The queue name is not valid (see <see cref="Names"/>).</exception>
    public static Props Props(string queue, LindaSettings settings, TimeProvider? time = null)
    {
        var invalid = Names.Check(queue, "queue name");
        if (invalid is not null)
            throw new ArgumentException(invalid, nameof(queue));
        var clock = time ?? TimeProvider.System;
        var child = Akka.Actor.Props.Create(() => new JobQueueActor(queue, settings, clock));
        return Akka.Actor.Props.Create(() => new QueueSupervisor(child, settings.RestartBackoff, settings.RestartBackoffMax));
    }

    // ================================================================ recovery

    /// <inheritdoc />
    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer { Snapshot: JobQueueSnapshot snapshot }:
                _state = JobQueueState.FromSnapshot(snapshot, _settings.Limits);
                _jobsAtLastSnapshot = snapshot.Jobs.Count;
                break;
            case IEvent e:
                _state.Apply(e);
                _eventsSinceSnapshot++;
                break;
            case RecoveryCompleted:
                _sequenceNr = LastSequenceNr;
                _log.Info("queue {0} recovered at sequence number {1}: {2} ready, {3} delayed, {4} reserved, {5} buried",
                    _state.Queue, _sequenceNr, _state.ReadyCount, _state.DelayedCount, _state.ReservedCount, _state.BuriedCount);
                foreach (var path in _state.Holders.ToArray())
                    WatchRecoveredHolder(path);
                AfterCommand();
                break;
        }
    }

    /// <inheritdoc />
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _log.Error(reason, "queue {0} failed to recover (at {1})", _initial.Queue, message?.GetType().Name ?? "start");
        base.OnRecoveryFailure(reason, message);
    }

    // ================================================================ commands

    /// <inheritdoc />
    protected override void OnCommand(object message)
    {
        if (_stopping)
        {
            // Told at once (it reveals nothing): a deferred reply would come after the stop.
            if (message is ICommand or InspectState)
                Sender.Tell(new Unavailable($"queue {_state.Queue} is stopping (moving to another node); nothing changed, send the command again"), Self);
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
            case Push m: Count(0); Persist(_state.Push(m)); break;
            case Reserve m: Count(1); OnReserve(m); break;
            case Complete m: Count(2); Verdict(_state.Complete(m)); break;
            case Release m: Count(3); Verdict(_state.Release(m)); break;
            case Bury m: Count(4); Verdict(_state.Bury(m)); break;
            case Touch m: Count(5); Verdict(_state.Touch(m)); break;
            case Kick m: Count(6); Persist(_state.Kick(m)); break;
            case KickJob m: Count(7); Persist(_state.KickJob(m)); break;
            case Delete m: Count(8); Verdict(_state.Delete(m)); break;
            case Peek m: Count(9); Answer(_state.View(m.JobId) ?? (IReply)new NotFound(m.JobId ?? "")); break;
            case PeekReady: Count(10); Answer(_state.PeekReady() ?? (IReply)new NoJob(JobState.Ready)); break;
            case PeekDelayed: Count(11); Answer(_state.PeekDelayed() ?? (IReply)new NoJob(JobState.Delayed)); break;
            case PeekBuried: Count(12); Answer(_state.PeekBuried() ?? (IReply)new NoJob(JobState.Buried)); break;
            case GetJob m: Count(13); Answer(_state.View(m.JobId) ?? (IReply)new NotFound(m.JobId ?? "")); break;
            case GetStats: Count(14); Answer(Stats()); break;
            case Pause m: Count(15); Persist(_state.Pause(m)); break;
            case JobQueue.Resume: Count(16); Persist(_state.Resume()); break;
            case ReserveJob m: Count(17); OnReserveJob(m); break;
            case CancelReserve: OnCancelReserve(); break;
            case InspectState: DeferAsync(_state.ToSnapshot(), snapshot => Sender.Tell(snapshot, Self)); break;
            case Tick: _timerDue = null; break; // fired, so no longer armed (it may fire a little early)
            case Terminated t: OnTerminated(t.ActorRef); break;
            case ClusterEvent.MemberRemoved r: OnNodeRemoved(r.Member.Address); break;
            case NodeGone g: OnNodeRemoved(g.Address); break;
            case SaveSnapshotSuccess s: OnSnapshotSaved(s.Metadata); break;
            case SaveSnapshotFailure f:
                _snapshotPending = false;
                _log.Warning(f.Cause, "queue {0}: snapshot at {1} failed", _state.Queue, f.Metadata.SequenceNr);
                break;
            case DeleteMessagesSuccess or DeleteSnapshotsSuccess: break;
            case DeleteMessagesFailure f: _log.Warning(f.Cause, "queue {0}: deleting old events failed", _state.Queue); break;
            case DeleteSnapshotsFailure f: _log.Warning(f.Cause, "queue {0}: deleting old snapshots failed", _state.Queue); break;
            default: Unhandled(message); return;
        }
        AfterCommand();
    }

    private void OnStopGracefully()
    {
        _stopping = true;
        _log.Info("queue {0} stopping at sequence number {1}", _state.Queue, _sequenceNr);
        var unavailable = new Unavailable($"queue {_state.Queue} is stopping (moving to another node); reserve again");
        while (_waiters.First is { } first)
        {
            var w = first.Value;
            RemoveWaiter(w);
            Answer(unavailable, w.ReplyTo);
        }
        DeferAsync(StopGracefully.Instance, _ => Context.Stop(Self));
    }

    private void OnReserve(Reserve m)
    {
        if (_state.CheckWait(m.Wait) is { } invalid)
        {
            Answer(invalid);
            return;
        }
        if (Sender.IsNobody() || Sender.Equals(Context.System.DeadLetters))
        {
            Answer(new Rejected(RejectReason.NoHolder, "a reserve needs a sender to hold the lease"));
            return;
        }
        var holder = HolderOf(Sender);
        if (m.Pull != 0)
        {
            if (m.Pull < holder.LastPull)
                return; // stale: the sender has sent a newer reserve, which gets the answer
            holder.LastPull = m.Pull;
            DropWaitingReserves(Sender); // older reserves of this sender: the new one replaces them
        }
        if (m.HoldsNone)
            ForgetLostLeases(holder, m.Pull);
        if (_waiters.Count == 0 && _state.CanReserve)
        {
            ReserveFor(Sender, m.Pull);
            return;
        }
        if (m.Wait == TimeSpan.Zero)
        {
            Answer(ReserveTimedOut.Instance);
            return;
        }
        var waiter = new Waiter(Sender, _state.Now + m.Wait, m.Pull);
        waiter.Node = _waiters.AddLast(waiter);
        _waiterTimeouts.Enqueue(waiter, waiter.ExpiresAt);
        holder.Waiting++;
    }

    /// <summary>
    /// A holder that says it holds no job: leases still on record for it that were handed out for an
    /// earlier reserve (or by an earlier run of the queue) never reached it.
    /// </summary>
    private void ForgetLostLeases(Holder holder, long pull)
    {
        foreach (var (jobId, token) in _state.LeasesOf(holder.Path))
        {
            if (pull != 0 && holder.Pulls.GetValueOrDefault(jobId) >= pull)
                continue;
            _log.Info("queue {0}: {1} asks for a job without a verdict on {2}; its lease was lost on the way, the job goes back to Ready", _state.Queue, holder.Path, jobId);
            if (_state.LoseLease(jobId, token, "the lease never reached its holder") is { } evt)
                Persist(evt, null, ActorRefs.Nobody);
        }
        // Keep the reserve numbers of the leases it still holds only.
        foreach (var jobId in holder.Pulls.Keys.ToArray())
        {
            if (!_state.IsLeasedTo(jobId, holder.Path))
                holder.Pulls.Remove(jobId);
        }
    }

    /// <summary>Removes every waiting reserve of <paramref name="holderRef"/>, answering each with <paramref name="answer"/> if given.</summary>
    private void DropWaitingReserves(IActorRef holderRef, IReply? answer = null)
    {
        for (var node = _waiters.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.ReplyTo.Equals(holderRef))
            {
                RemoveWaiter(node.Value);
                if (answer is not null)
                    Answer(answer, holderRef);
            }
            node = next;
        }
    }

    private void OnReserveJob(ReserveJob m)
    {
        if (Sender.IsNobody() || Sender.Equals(Context.System.DeadLetters))
        {
            Answer(new Rejected(RejectReason.NoHolder, "a reserve needs a sender to hold the lease"));
            return;
        }
        var decision = _state.ReserveJob(m, HolderOf(Sender).Path, NewToken());
        if (decision.Event is null)
            Answer(decision.Reply);
        else
            HandOut(Sender, decision, 0);
    }

    /// <summary>Answers the sender's waiting reserves as timed out, then the cancel itself.</summary>
    private void OnCancelReserve()
    {
        DropWaitingReserves(Sender, ReserveTimedOut.Instance);
        Answer(ReserveTimedOut.Instance);
    }

    private static long NewToken()
    {
        long token;
        do token = Random.Shared.NextInt64(); while (token == 0);
        return token;
    }

    private void ReserveFor(IActorRef holderRef, long pull)
    {
        var reserved = _state.Reserve(HolderOf(holderRef).Path, NewToken());
        HandOut(holderRef, reserved, pull);
    }

    /// <summary>Hands out the lease <paramref name="reserved"/> decided (a <see cref="JobReserved"/>), durable or early.</summary>
    private void HandOut(IActorRef holderRef, Decision reserved, long pull)
    {
        var holder = HolderOf(holderRef);
        var decision = reserved with { Reply = ((Reserved)reserved.Reply) with { Pull = pull } };
        if (pull != 0)
            holder.Pulls[((JobReserved)decision.Event!).JobId] = pull;
        if (_settings.LeaseReply == LeaseReply.Durable || (_settings.LeaseReply == LeaseReply.Auto && !holderRef.Path.Address.HasLocalScope))
        {
            // The lease is handed out once its JobReserved is in the journal: a queue that moves to
            // another node after a crash knows every lease it gave to a node that survived.
            Persist(decision.Event!, decision.Reply, holderRef);
            return;
        }
        // Early: handed out once everything before the lease is in the journal (the job's push above
        // all), without waiting for its own event, which goes into the next write; the holder runs the
        // job meanwhile. If the queue's node dies before that write, the lease is forgotten, the job
        // is Ready after recovery and the old token is refused; with Auto that only happens to holders
        // on the queue's own node, which died with it.
        var jobId = ((JobReserved)decision.Event!).JobId;
        if (_pendingByJob.ContainsKey(jobId) || _pendingKicks > 0)
            Answer(decision.Reply, holderRef);
        else
            holderRef.Tell(decision.Reply, Self);
        Persist(decision.Event!, null, ActorRefs.Nobody);
    }

    /// <summary>Hands ready jobs to waiting reservers, oldest first, and times out those whose wait is over.</summary>
    private void ServeWaiters()
    {
        while (_waiters.First is { } first && _state.CanReserve)
        {
            var w = first.Value;
            RemoveWaiter(w);
            ReserveFor(w.ReplyTo, w.Pull);
        }
        while (_waiterTimeouts.TryPeek(out var w, out var expires) && (w.Node is null || expires <= _state.Now))
        {
            _waiterTimeouts.Dequeue();
            if (w.Node is null)
                continue;
            RemoveWaiter(w);
            Answer(ReserveTimedOut.Instance, w.ReplyTo);
        }
    }

    private void RemoveWaiter(Waiter w)
    {
        _waiters.Remove(w.Node!);
        w.Node = null;
        if (_holders.TryGetValue(w.ReplyTo, out var h))
            h.Waiting--;
    }

    // ================================================================ persisting and replying

    private void Persist(Decision decision) => Persist(decision, Sender);

    /// <summary>
    /// A verdict or a delete: persisted, and answered once written or, with
    /// <see cref="LindaSettings.EarlyVerdicts"/>, at once (the write follows; a crash before it loses the verdict).
    /// </summary>
    private void Verdict(Decision decision)
    {
        if (!_settings.EarlyVerdicts || decision.Event is not { } evt)
        {
            Persist(decision);
            return;
        }
        Persist(evt, null, ActorRefs.Nobody);
        Sender.Tell(decision.Reply, Self);
    }

    private void Persist(Decision decision, IActorRef replyTo)
    {
        if (decision.Event is { } evt)
            Persist(evt, decision.Reply, replyTo);
        else
            Answer(decision.Reply, replyTo);
    }

    /// <summary>Applies <paramref name="evt"/> now and sends <paramref name="reply"/> once it is in the journal.</summary>
    private void Persist(IEvent evt, IReply? reply, IActorRef replyTo)
    {
        _state.Apply(evt);
        _sequenceNr++;
        _eventsSinceSnapshot++;
        _pendingReplies.Enqueue(replyTo);
        var job = JobOf(evt);
        var manyKicked = evt is JobsKicked { JobIds.Count: > 1 };
        if (job is not null)
            _pendingByJob[job] = _pendingByJob.GetValueOrDefault(job) + 1;
        if (manyKicked)
            _pendingKicks++;
        PersistAsync(evt, _ =>
        {
            _pendingReplies.Dequeue();
            if (job is not null && --_pendingByJob[job] == 0)
                _pendingByJob.Remove(job);
            if (manyKicked)
                _pendingKicks--;
            if (reply is not null)
                replyTo.Tell(reply, Self);
        });
    }

    /// <summary>The one job an event is about, or null (queue events, kicks of several jobs).</summary>
    private static string? JobOf(IEvent evt) => evt switch
    {
        JobPushed e => e.Job.Id,
        JobReserved e => e.JobId,
        JobTouched e => e.JobId,
        JobCompleted e => e.JobId,
        JobReleased e => e.JobId,
        JobBuried e => e.JobId,
        JobDeleted e => e.JobId,
        LeaseLost e => e.JobId,
        JobsKicked { JobIds.Count: 1 } e => e.JobIds[0],
        _ => null,
    };

    /// <summary>Replies after every event persisted so far is in the journal (at once if none is pending).</summary>
    private void Answer(IReply reply) => Answer(reply, Sender);

    private void Answer(IReply reply, IActorRef replyTo) => DeferAsync(reply, r => replyTo.Tell(r, Self));

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "queue {0}: the journal failed to write {1} at {2}; answering {3} pending commands and restarting from the journal",
            _state.Queue, @event.GetType().Name, sequenceNr, _pendingReplies.Count);
        FailPending($"the journal failed to write: {cause.Message}");
        // Akka.Persistence stops the actor now; the supervisor starts it again from the journal.
    }

    /// <inheritdoc />
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "queue {0}: the journal rejected {1} at {2}; restarting from the journal", _state.Queue, @event.GetType().Name, sequenceNr);
        FailPending($"the journal rejected the write: {cause.Message}");
        // The state already holds the rejected event: start again from what the journal has.
        Context.Stop(Self);
    }

    private void FailPending(string message)
    {
        Context.Parent.Tell(QueueSupervisor.ChildFailing.Instance);
        var failure = new WriteFailed(message);
        while (_pendingReplies.TryDequeue(out var replyTo))
            replyTo.Tell(failure, Self);
        // Waiting reserves die with this incarnation: say so, so that no one waits for an answer that never comes.
        var unavailable = new Unavailable($"queue {_state.Queue} is restarting after a failed write; reserve again");
        while (_waiters.First is { } first)
        {
            RemoveWaiter(first.Value);
            first.Value.ReplyTo.Tell(unavailable, Self);
        }
    }

    // ================================================================ holders

    private Holder HolderOf(IActorRef actor)
    {
        if (!_holders.TryGetValue(actor, out var holder))
        {
            holder = new Holder(Akka.Serialization.Serialization.SerializedActorPath(actor));
            _holders.Add(actor, holder);
            // An asker's temporary actor dies as soon as it has its answer: its leases end at their deadline.
            if (!IsTemporary(actor))
                Context.Watch(actor);
        }
        return holder;
    }

    private static bool IsTemporary(IActorRef actor) => actor.Path.Elements is ["temp", ..];

    private void WatchRecoveredHolder(string path)
    {
        IActorRef actor;
        try
        {
            actor = ((ExtendedActorSystem)Context.System).Provider.ResolveActorRef(path);
        }
        catch (Exception e)
        {
            _log.Warning(e, "queue {0}: can't resolve lease holder {1}; its leases end at their deadline", _state.Queue, path);
            return;
        }
        if (!_holders.ContainsKey(actor))
        {
            _holders.Add(actor, new Holder(path));
            if (!IsTemporary(actor))
                Context.Watch(actor);
        }
        if (IsGoneNode(actor.Path.Address))
            Self.Tell(new NodeGone(actor.Path.Address));
    }

    /// <summary>A recovered holder's node is no longer in the cluster: handled as a command, after recovery.</summary>
    private sealed record NodeGone(Address Address);

    private void OnTerminated(IActorRef actor) => HolderGone(actor, "died");

    private void HolderGone(IActorRef actor, string why)
    {
        if (!_holders.Remove(actor, out var holder))
            return;
        DropWaitingReserves(actor);
        var leases = _state.LeasesOf(holder.Path);
        if (leases.Count > 0)
            _log.Info("queue {0}: lease holder {1} {2} holding {3} jobs; they go back to Ready", _state.Queue, holder.Path, why, leases.Count);
        foreach (var (jobId, token) in leases)
        {
            if (_state.LoseLease(jobId, token, $"lease holder {actor.Path} {why}") is { } evt)
                Persist(evt, null, ActorRefs.Nobody);
        }
    }

    /// <summary>
    /// Stops watching holders that have no lease and no waiting reserve left. Run only when the set has
    /// grown, so a pool of workers that reserve again and again is not unwatched and watched per job.
    /// </summary>
    private void SweepIdleHolders()
    {
        if (_holders.Count < _sweepAt)
            return;
        foreach (var (actor, holder) in _holders.ToArray())
        {
            if (holder.Waiting == 0 && !_state.HoldsLeases(holder.Path))
            {
                _holders.Remove(actor);
                Context.Unwatch(actor);
            }
        }
        _sweepAt = Math.Max(1024, _holders.Count * 2);
    }

    // ================================================================ time

    private DateTimeOffset Clock() => _time.GetUtcNow();

    /// <summary>After every message: serve waiters, set the one timer, maybe snapshot.</summary>
    private void AfterCommand()
    {
        ServeWaiters();
        ScheduleTimer();
        MaybeSnapshot();
        SweepIdleHolders();
    }

    private void ScheduleTimer()
    {
        var next = _state.NextDueAt;
        while (_waiterTimeouts.TryPeek(out var w, out var expires) && w.Node is null)
            _waiterTimeouts.Dequeue();
        if (_waiterTimeouts.TryPeek(out _, out var waiterExpires) && (next is null || waiterExpires < next))
            next = waiterExpires;
        if (next == _timerDue)
            return;
        _timerDue = next;
        if (next is null)
        {
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        var delay = next.Value - Clock();
        if (delay < TimeSpan.Zero)
            delay = TimeSpan.Zero;
        if (_timer is null)
        {
            var self = Self;
            _timer = _time.CreateTimer(_ => self.Tell(Tick.Instance, ActorRefs.NoSender), null, delay, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _timer.Change(delay, Timeout.InfiniteTimeSpan);
        }
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        base.PreStart();
        _cluster?.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.MemberRemoved));
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _timer?.Dispose();
        _cluster?.Unsubscribe(Self);
        base.PostStop();
    }

    // ================================================================ cluster membership

    /// <summary>
    /// In a cluster, a holder's node that is removed takes its leases with it. DeathWatch says so too,
    /// but not for a node that was removed before it was watched (a queue that recovered after its old
    /// node crashed may learn of holders on a node that is already gone: nothing would ever answer).
    /// </summary>
    private readonly Cluster? _cluster;

    private void OnNodeRemoved(Address address)
    {
        foreach (var actor in _holders.Keys.Where(a => a.Path.Address.Equals(address)).ToArray())
            HolderGone(actor, $"was on node {address}, which left the cluster");
    }

    private bool IsGoneNode(Address address) =>
        _cluster is not null && address.HasGlobalScope && !address.Equals(_cluster.SelfAddress)
        && !_cluster.State.Members.Any(m => m.Address.Equals(address));

    // ================================================================ snapshots

    private void MaybeSnapshot()
    {
        if (_settings.SnapshotEvery <= 0 || _snapshotPending || _eventsSinceSnapshot < Math.Max(_settings.SnapshotEvery, _jobsAtLastSnapshot))
            return;
        // The copy is taken now, when the state holds exactly the events up to _sequenceNr, and saved
        // once they are all in the journal, under that sequence number.
        var snapshot = _state.ToSnapshot();
        var metadata = new SnapshotMetadata(PersistenceId, _sequenceNr, DateTime.UtcNow);
        _snapshotPending = true;
        _eventsSinceSnapshot = 0;
        _jobsAtLastSnapshot = snapshot.Jobs.Count;
        DeferAsync(snapshot, s => SnapshotStore.Tell(new SaveSnapshot(metadata, s), Self));
    }

    private void OnSnapshotSaved(SnapshotMetadata metadata)
    {
        _snapshotPending = false;
        if (!_settings.DeleteEventsOnSnapshot)
            return;
        DeleteMessages(metadata.SequenceNr);
        DeleteSnapshots(new SnapshotSelectionCriteria(metadata.SequenceNr - 1));
    }

    // ================================================================ stats

    private static readonly string[] CommandNames =
    [
        "push", "reserve", "complete", "release", "bury", "touch", "kick", "kick-job", "delete",
        "peek", "peek-ready", "peek-delayed", "peek-buried", "get-job", "stats", "pause", "resume",
        "reserve-job",
    ];

    private void Count(int command) => _commandCounts[command]++;

    private QueueStats Stats()
    {
        var commands = new Dictionary<string, long>(CommandNames.Length);
        for (var i = 0; i < CommandNames.Length; i++)
            commands[CommandNames[i]] = _commandCounts[i];
        return new QueueStats(_state.Queue, _state.ReadyCount, _state.UrgentCount, _state.DelayedCount, _state.ReservedCount,
            _state.BuriedCount, _waiters.Count, _state.TotalJobs, _state.PausedUntil, commands, _state.LeaseTimeouts);
    }

    private sealed class Waiter(IActorRef replyTo, DateTimeOffset expiresAt, long pull)
    {
        public readonly IActorRef ReplyTo = replyTo;
        public readonly DateTimeOffset ExpiresAt = expiresAt;
        public readonly long Pull = pull;
        public LinkedListNode<Waiter>? Node;
    }

    private sealed class Holder(string path)
    {
        public readonly string Path = path;
        public int Waiting;

        /// <summary>The highest <see cref="Reserve.Pull"/> seen from this holder.</summary>
        public long LastPull;

        /// <summary>For leases handed out in this run of the queue: the reserve number each answered.</summary>
        public readonly Dictionary<string, long> Pulls = new(StringComparer.Ordinal);
    }

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }
}
