using Akka.Actor;
using static Linda.JobQueue;

namespace Linda;

/// <summary>
/// The queue's write path: events that are applied but not yet in the journal, in batches that each
/// become one journal row (<see cref="EventBatch"/>), and the replies each batch owes. Events join the
/// open batch, the last one; when no write is in flight the oldest waiting batch is written, so
/// everything applied while a write is in flight goes into the next write. A reply waits for the
/// batch that holds its event; a reply that changes nothing waits for the last batch, so it never
/// reveals a change that is not yet written; with nothing pending it goes out at once. Replies to one
/// recipient always leave in the order they were decided: a reply that could go out earlier (early, or
/// changing nothing) waits behind the recipient's replies that are still pending.
/// </summary>
/// <remarks>
/// A batch closes at <see cref="MaxBytes"/> (estimated from its events' sizes): what comes after
/// opens the next batch, written after it. One write is always one row.
/// </remarks>
internal sealed class WriteBatches(int maxBytes)
{
    /// <summary>One write: its events, in the order applied, and what follows once it is in the journal.</summary>
    internal sealed class Batch
    {
        public long Number;
        public int Bytes;

        /// <summary>Pushes among its events: acknowledged when it is written.</summary>
        public int Pushes;

        /// <summary>A new list per batch: the journal holds on to it (an in-memory journal keeps the object).</summary>
        public List<IEvent> Events = [];

        /// <summary>Replies to send once the batch is written, in order.</summary>
        public readonly List<(IActorRef To, object Message)> Replies = [];

        /// <summary>What else waits for the batch (a snapshot, the stop after a hand-over): rare.</summary>
        public List<Action>? Then;
    }

    private readonly Queue<Batch> _waiting = new();
    private readonly Stack<Batch> _free = new();

    // The batch that holds each job's latest pending event, for leases answered before their own event is written.
    private readonly Dictionary<string, Batch> _latestOfJob = new(StringComparer.Ordinal);

    // The batch that holds each recipient's last pending reply: its later replies never go out before it.
    private readonly Dictionary<IActorRef, Batch> _lastReplyTo = new();
    private Batch? _open;
    private long _numbers;

    /// <summary>The largest batch, in estimated bytes of its events, before the next one opens.</summary>
    public int MaxBytes { get; } = maxBytes > 0 ? maxBytes : throw new ArgumentOutOfRangeException(nameof(maxBytes), "a batch needs room for at least one byte");

    /// <summary>The batch being written, if any.</summary>
    public Batch? InFlight { get; private set; }

    /// <summary>
    /// True while no write may start (a snapshot is being saved): events keep collecting, and
    /// <see cref="StartNext"/> gives nothing until it is false again.
    /// </summary>
    public bool Paused { get; set; }

    /// <summary>True when no event is waiting for a write (the open batch is empty); one may be in flight.</summary>
    public bool NothingWaiting => _waiting.Count == 0;

    /// <summary>True when nothing is being written and nothing waits to be.</summary>
    public bool Idle => InFlight is null && _waiting.Count == 0;

    /// <summary>Adds an applied event to the open batch (opening one if there is none, or it is full).</summary>
    public void Add(IEvent e)
    {
        var bytes = EstimatedSize(e);
        if (_open is null || (_open.Events.Count > 0 && _open.Bytes + bytes > MaxBytes))
        {
            _open = Rent();
            _open.Number = ++_numbers;
            _waiting.Enqueue(_open);
        }
        _open.Events.Add(e);
        _open.Bytes += bytes;
        if (e is JobPushed)
            _open.Pushes++;
        switch (e)
        {
            case JobsKicked kicked:
                foreach (var id in kicked.JobIds)
                    _latestOfJob[id] = _open;
                break;
            case var one when JobOf(one) is { } id:
                _latestOfJob[id] = _open;
                break;
        }
    }

    /// <summary>Sends <paramref name="message"/> once the batch of the last event added is written.</summary>
    /// <exception cref="InvalidOperationException">No event was added since the last write started.</exception>
    public void ReplyWithLastEvent(IActorRef to, object message) =>
        Queue(_open ?? throw new InvalidOperationException("no event waits for a write"), to, message);

    /// <summary>
    /// Queues <paramref name="message"/> behind every pending write (a reply that changes nothing);
    /// false when nothing is pending, and it can go out at once.
    /// </summary>
    public bool ReplyAfterAll(IActorRef to, object message)
    {
        if ((_open ?? InFlight) is not { } last)
            return false;
        Queue(last, to, message);
        return true;
    }

    /// <summary>
    /// Queues <paramref name="message"/> behind the pending write that holds job <paramref name="jobId"/>'s
    /// latest event (a lease answered early: once the job's earlier events are written), or behind the
    /// recipient's last pending reply if that comes later; false when neither is pending, and it can go out at once.
    /// </summary>
    public bool ReplyAfterJob(string jobId, IActorRef to, object message) =>
        ReplyAfter(Later(_latestOfJob.GetValueOrDefault(jobId), _lastReplyTo.GetValueOrDefault(to)), to, message);

    /// <summary>
    /// Queues <paramref name="message"/> behind the recipient's last pending reply (a reply that need not
    /// wait for any write, such as an early verdict); false when none is pending, and it can go out at once.
    /// </summary>
    public bool ReplyInOrder(IActorRef to, object message) => ReplyAfter(_lastReplyTo.GetValueOrDefault(to), to, message);

    private bool ReplyAfter(Batch? batch, IActorRef to, object message)
    {
        if (batch is null)
            return false;
        Queue(batch, to, message);
        return true;
    }

    private void Queue(Batch batch, IActorRef to, object message)
    {
        // Never before the recipient's replies that are already pending (their batch may be later).
        var target = Later(batch, _lastReplyTo.GetValueOrDefault(to))!;
        target.Replies.Add((to, message));
        _lastReplyTo[to] = target;
    }

    private static Batch? Later(Batch? a, Batch? b) => a is null ? b : b is null || a.Number >= b.Number ? a : b;

    /// <summary>Runs <paramref name="action"/> once every pending write is done; false (and nothing queued) when none is pending.</summary>
    public bool AfterAll(Action action)
    {
        if ((_open ?? InFlight) is not { } last)
            return false;
        (last.Then ??= []).Add(action);
        return true;
    }

    /// <summary>The next batch to write, now in flight; null while a write is in flight, writes are <see cref="Paused"/>, or nothing waits.</summary>
    public Batch? StartNext()
    {
        if (InFlight is not null || Paused || !_waiting.TryDequeue(out var next))
            return null;
        if (ReferenceEquals(next, _open))
            _open = null;
        InFlight = next;
        return next;
    }

    /// <summary>The write in flight is in the journal: returns its batch, to send its replies and then <see cref="Recycle"/> it.</summary>
    public Batch Written()
    {
        var done = InFlight ?? throw new InvalidOperationException("no write in flight");
        InFlight = null;
        foreach (var e in done.Events)
        {
            switch (e)
            {
                case JobsKicked kicked:
                    foreach (var id in kicked.JobIds)
                        Forget(id, done);
                    break;
                case var one when JobOf(one) is { } id:
                    Forget(id, done);
                    break;
            }
        }
        foreach (var (to, _) in done.Replies)
        {
            if (_lastReplyTo.TryGetValue(to, out var last) && ReferenceEquals(last, done))
                _lastReplyTo.Remove(to);
        }
        return done;
    }

    /// <summary>Every pending batch, in flight first, taken out (a write failed: none of them will be written).</summary>
    public List<Batch> TakeAll()
    {
        var all = new List<Batch>(_waiting.Count + 1);
        if (InFlight is not null)
            all.Add(InFlight);
        all.AddRange(_waiting);
        InFlight = null;
        _open = null;
        Paused = false;
        _waiting.Clear();
        _latestOfJob.Clear();
        _lastReplyTo.Clear();
        return all;
    }

    /// <summary>Gives a written batch back for reuse (its events list stays with the journal).</summary>
    public void Recycle(Batch batch)
    {
        batch.Events = [];
        batch.Bytes = 0;
        batch.Pushes = 0;
        batch.Replies.Clear();
        batch.Then = null;
        if (_free.Count < 4)
            _free.Push(batch);
    }

    private Batch Rent() => _free.TryPop(out var batch) ? batch : new Batch();

    private void Forget(string jobId, Batch batch)
    {
        if (_latestOfJob.TryGetValue(jobId, out var latest) && ReferenceEquals(latest, batch))
            _latestOfJob.Remove(jobId);
    }

    /// <summary>The one job an event is about, or null (queue events; kicks are handled apart).</summary>
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
        _ => null,
    };

    // What an event costs in the journal row, roughly: its fixed fields, ids and texts, and a pushed job's payload.
    private const int EventOverhead = 48;

    /// <summary>An event's size in its batch, estimated (within a few dozen bytes).</summary>
    public static int EstimatedSize(IEvent evt) => EventOverhead + evt switch
    {
        JobPushed e => e.Job.Id.Length + e.Job.Queue.Length + e.Job.Payload.Size,
        JobReserved e => e.JobId.Length + e.Holder.Length,
        JobReleased e => e.JobId.Length + (e.Error?.Length ?? 0),
        JobBuried e => e.JobId.Length + e.Reason.Length,
        LeaseLost e => e.JobId.Length + e.Reason.Length,
        JobsKicked e => e.JobIds.Sum(id => id.Length + 1),
        _ => JobOf(evt)?.Length ?? 0,
    };
}
