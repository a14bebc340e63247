using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using static Linda.JobQueue;

namespace Linda.Benchmarks;

/// <summary>
/// Pushes <see cref="Start.Count"/> jobs to a queue, keeping up to <see cref="Start.Window"/> pushes
/// unacknowledged. Completes <see cref="Start.Done"/> with the job ids once every push was answered
/// <see cref="Pushed"/>; any other answer fails it.
/// </summary>
internal sealed class Producer : UntypedActor
{
    public sealed record Start(IActorRef Queue, Func<Push> MakePush, int Count, int Window, TaskCompletionSource<string[]> Done);

    private Start _job = null!;
    private string[] _ids = [];
    private int _sent;
    private int _acked;

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Start s:
                _job = s;
                _ids = new string[s.Count];
                if (s.Count == 0)
                {
                    s.Done.TrySetResult(_ids);
                    break;
                }
                while (_sent < s.Count && _sent < s.Window)
                    SendOne();
                break;
            case Pushed p:
                _ids[_acked++] = p.JobId;
                if (_sent < _job.Count)
                    SendOne();
                if (_acked == _job.Count)
                {
                    _job.Done.TrySetResult(_ids);
                    Context.Stop(Self);
                }
                break;
            case IFailure f:
                _job.Done.TrySetException(new InvalidOperationException($"push refused: {f.GetType().Name}: {f.Message}"));
                Context.Stop(Self);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void SendOne()
    {
        _sent++;
        _job.Queue.Tell(_job.MakePush(), Self);
    }
}

/// <summary>Shared by the consumers of one run: counts completions and remembers what each consumer completed.</summary>
internal sealed class Tracker(int target)
{
    private long _completed;
    private long _duplicates;
    private long _redelivered;

    public int Target { get; } = target;

    /// <summary>Completes with the <see cref="Stopwatch"/> timestamp of the <see cref="Target"/>-th <see cref="Completed"/> reply.</summary>
    public TaskCompletionSource<long> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<HashSet<string>> CompletedSets { get; } = new();

    public long CompletedCount => Interlocked.Read(ref _completed);
    public long Duplicates => Interlocked.Read(ref _duplicates);
    public long Redelivered => Interlocked.Read(ref _redelivered);
    public bool Finished => CompletedCount >= Target;

    private long _lastCompletedAt;
    private long _stalls;
    private long _stallTicks;
    private long _longestGapTicks;
    private static readonly long StallTicks = Stopwatch.Frequency / 20; // 50 ms

    /// <summary>Gaps of 50 ms or more between two consecutive Completed replies (all consumers together), their total and the longest gap.</summary>
    public (long Count, double TotalMs, double LongestMs) Stalls =>
        (Interlocked.Read(ref _stalls), Interlocked.Read(ref _stallTicks) * 1000.0 / Stopwatch.Frequency,
            Interlocked.Read(ref _longestGapTicks) * 1000.0 / Stopwatch.Frequency);

    public void OnCompleted(long timestamp)
    {
        var previous = Interlocked.Exchange(ref _lastCompletedAt, timestamp);
        if (previous != 0 && timestamp - previous > 0)
        {
            var gap = timestamp - previous;
            long longest;
            while (gap > (longest = Interlocked.Read(ref _longestGapTicks)) && Interlocked.CompareExchange(ref _longestGapTicks, gap, longest) != longest)
            {
            }
            if (gap >= StallTicks)
            {
                Interlocked.Increment(ref _stalls);
                Interlocked.Add(ref _stallTicks, gap);
            }
        }
        if (Interlocked.Increment(ref _completed) == Target)
            Done.TrySetResult(timestamp);
    }

    public void OnDuplicate() => Interlocked.Increment(ref _duplicates);
    public void OnRedelivered() => Interlocked.Increment(ref _redelivered);
    public void Fail(string why) => Done.TrySetException(new InvalidOperationException(why));
}

/// <summary>
/// A worker that holds up to <see cref="Start.Slots"/> reservations. For every <see cref="Reserved"/>
/// it sends <see cref="Complete"/> and the next <see cref="Reserve"/> back to back (pipelined), and it
/// counts a job done when its <see cref="Completed"/> reply arrives.
/// </summary>
internal sealed class Consumer : UntypedActor
{
    public sealed record Start(IActorRef Queue, int Slots, TimeSpan Wait);

    private readonly Tracker _tracker;
    private readonly Action<Reserved, long>? _onReserved;
    private readonly IActorRef _verdicts;
    private IActorRef _queue = ActorRefs.Nobody;
    private Reserve _reserve = null!;

    public Consumer(Tracker tracker, Action<Reserved, long>? onReserved)
    {
        _tracker = tracker;
        _onReserved = onReserved;
        var completed = new HashSet<string>();
        tracker.CompletedSets.Enqueue(completed);
        _verdicts = Context.ActorOf(Props.Create(() => new Verdicts(tracker, completed)), "verdicts");
    }

    /// <summary>
    /// Where the answers to the consumer's Completes go: a sender of its own, as Linda's workers send
    /// their verdicts (an ask) apart from their reserves. A queue answers one sender in order, so a
    /// lease handed out early never waits behind the sender's Completed.
    /// </summary>
    private sealed class Verdicts(Tracker tracker, HashSet<string> completed) : UntypedActor
    {
        protected override void OnReceive(object message)
        {
            switch (message)
            {
                case Completed c:
                    var now = Stopwatch.GetTimestamp();
                    if (!completed.Add(c.JobId))
                        tracker.OnDuplicate();
                    tracker.OnCompleted(now);
                    break;
                case IFailure f:
                    tracker.Fail($"consumer got {f.GetType().Name}: {f.Message}");
                    break;
                default:
                    Unhandled(message);
                    break;
            }
        }
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Start s:
                _queue = s.Queue;
                _reserve = new Reserve(s.Wait);
                for (var i = 0; i < s.Slots; i++)
                    _queue.Tell(_reserve, Self);
                break;
            case Reserved r:
                var at = Stopwatch.GetTimestamp();
                _onReserved?.Invoke(r, at);
                if (r.Attempt > 1)
                    _tracker.OnRedelivered();
                _queue.Tell(new Complete(r.Job.Id, r.Token), _verdicts); // sent now, before the reserve; answered to the verdicts' actor
                _queue.Tell(_reserve, Self);
                break;
            case ReserveTimedOut:
                if (!_tracker.Finished)
                    _queue.Tell(_reserve, Self);
                break;
            case IFailure f:
                _tracker.Fail($"consumer got {f.GetType().Name}: {f.Message}");
                break;
            default:
                Unhandled(message);
                break;
        }
    }
}

/// <summary>What the latency consumer tells the driving thread.</summary>
internal sealed class LatencyProbe
{
    public long ReservedAt;
    public int Attempt;
    public string? Failure;
    public readonly SemaphoreSlim Cycled = new(0);
}

/// <summary>
/// Waits with a long <see cref="Reserve"/>; on <see cref="Reserved"/> records the time and completes the
/// job; on <see cref="Completed"/> sends the next long reserve, then releases the driver.
/// </summary>
internal sealed class LatencyConsumer(LatencyProbe probe) : UntypedActor
{
    public sealed record Start(IActorRef Queue);

    private static readonly Reserve LongReserve = new(TimeSpan.FromHours(1));
    private IActorRef _queue = ActorRefs.Nobody;

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Start s:
                _queue = s.Queue;
                _queue.Tell(LongReserve, Self);
                break;
            case Reserved r:
                probe.ReservedAt = Stopwatch.GetTimestamp();
                probe.Attempt = r.Attempt;
                _queue.Tell(new Complete(r.Job.Id, r.Token), Self);
                break;
            case Completed:
                _queue.Tell(LongReserve, Self); // queued before the driver pushes the next job
                probe.Cycled.Release();
                break;
            case IFailure f:
                probe.Failure = $"{f.GetType().Name}: {f.Message}";
                probe.Cycled.Release();
                break;
            default:
                Unhandled(message);
                break;
        }
    }
}

/// <summary>Counts <see cref="Pushed"/> acknowledgements of pushes sent with it as sender.</summary>
internal sealed class AckCollector(int expected, TaskCompletionSource<int> done) : UntypedActor
{
    private int _acked;

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Pushed:
                if (++_acked == expected)
                    done.TrySetResult(_acked);
                break;
            case IFailure f:
                done.TrySetException(new InvalidOperationException($"push refused: {f.GetType().Name}: {f.Message}"));
                break;
            default:
                Unhandled(message);
                break;
        }
    }
}
