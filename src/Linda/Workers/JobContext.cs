using System.Text.Json;
using Akka.Actor;
using static Linda.JobQueue;

namespace Linda.Workers;

/// <summary>
/// What a handler gets for one attempt of a job: the job, its args, the attempt number, a token that is
/// cancelled when the node shuts down or the lease is lost, and ways to renew the lease or snooze.
/// </summary>
public sealed class JobContext
{
    private readonly Func<IActorRef> _queue;
    private readonly WorkerSettings _settings;
    private readonly TimeProvider _time;
    private JsonElement? _args;

    // Cancelled when the lease runs out without a touch (the job may then run elsewhere), on the context's clock.
    private readonly CancellationTokenSource _expiry;
    private readonly CancellationTokenSource _lease;

    internal JobContext(Reserved reserved, Func<IActorRef> queue, IActorRef worker, IServiceProvider services, WorkerSettings settings,
        TimeProvider time, CancellationToken shutdown)
    {
        Worker = worker;
        _expiry = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _lease = CancellationTokenSource.CreateLinkedTokenSource(shutdown, _expiry.Token);
        Reserved = reserved;
        _queue = queue;
        _settings = settings;
        _time = time;
        Services = services;
        CancellationToken = _lease.Token;
    }

    internal Reserved Reserved { get; }

    /// <summary>The worker actor running this attempt.</summary>
    internal IActorRef Worker { get; }

    /// <summary>The job as it was pushed.</summary>
    public Job Job => Reserved.Job;

    /// <summary>The job's id.</summary>
    public string JobId => Reserved.Job.Id;

    /// <summary>The queue the job came from.</summary>
    public string Queue => Reserved.Job.Queue;

    /// <summary>The handler class the job asked for.</summary>
    public string Class => Reserved.Job.Payload.Class;

    /// <summary>This attempt's number, from 1. Handlers run at least once: use it to make them idempotent.</summary>
    public int Attempt => Reserved.Attempt;

    /// <summary>True when a failure of this attempt buries the job (its retries are used up).</summary>
    public bool IsLastAttempt => RetryRules.IsLastAttempt(Job, Attempt);

    /// <summary>When the lease ends unless it is renewed with <see cref="Touch"/>.</summary>
    public DateTimeOffset LeaseDeadline { get; private set; }

    /// <summary>Cancelled when the node shuts down (after its grace period) or the lease runs out or is lost.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The services of this job's DI scope.</summary>
    public IServiceProvider Services { get; }

    /// <summary>The args: a JSON array.</summary>
    public JsonElement Args => _args ??= Job.Payload.ParseArgs();

    /// <summary>The payload's bytes: a raw job's body (pushed through the beanstalkd protocol), or the JSON args.</summary>
    public ReadOnlyMemory<byte> Body => Job.Payload.Body;

    /// <summary>Arg <paramref name="index"/> converted to <typeparamref name="T"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">There are not that many args.</exception>
    public T? Arg<T>(int index)
    {
        if (index < 0 || index >= Args.GetArrayLength())
            throw new ArgumentOutOfRangeException(nameof(index), $"job {JobId} has {Args.GetArrayLength()} args, not {index + 1}");
        return Args[index].Deserialize<T>();
    }

    /// <summary>The args as the typed job's <typeparamref name="TArgs"/> (<see cref="JobArgs"/>).</summary>
    /// <exception cref="BuryJobException">They can't be read as <typeparamref name="TArgs"/>: the job is buried with the reason.</exception>
    public TArgs ArgsAs<TArgs>() =>
        JobArgs.TryRead<TArgs>(Job.Payload, out var args, out var error) ? args : throw new BuryJobException(error);

    /// <summary>When set by <see cref="Snooze"/>, the job is released with this delay instead of completed.</summary>
    internal TimeSpan? SnoozedFor { get; private set; }

    /// <summary>Asks for the job to be released and run again after <paramref name="delay"/>, instead of completed.</summary>
    public void Snooze(TimeSpan delay)
    {
        if (delay < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(delay), "a snooze can't be negative");
        SnoozedFor = delay;
    }

    /// <summary>
    /// Reports how far the run is (0 to 100 percent, with an optional message): told to the queue at
    /// once, visible with the job (<c>GetJob</c>, the dashboard) within a moment. Kept in the queue's
    /// memory only: a restart or failover of the queue forgets it until the next report.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The percent is not 0 to 100.</exception>
    public void ReportProgress(int percent, string? message = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(percent, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        if (message is not null && message.Length > _settings.MaxErrorLength)
            message = message[.._settings.MaxErrorLength];
        _queue().Tell(new JobQueue.ReportProgress(JobId, Reserved.Token, percent, message), ActorRefs.NoSender);
    }

    /// <summary>Renews the lease for the job's time-to-run from now (asked again while the queue moves).</summary>
    /// <exception cref="LeaseLostException">The lease is over: the job may already run elsewhere.</exception>
    public async Task Touch()
    {
        var touch = new JobQueue.Touch(JobId, Reserved.Token);
        var reply = await _settings.AskAgain.AskAsync(async ct =>
        {
            try
            {
                return await _queue().Ask<IReply>(touch, _settings.AskTimeout, ct);
            }
            catch (AskTimeoutException)
            {
                return null;
            }
        }, _time, CancellationToken, retryWithoutAnswer: true);
        switch (reply)
        {
            case Touched t:
                WatchLease(t.Deadline);
                break;
            case IFailure f:
                _lease.Cancel();
                throw new LeaseLostException(JobId, f.Message);
            case null:
                throw new TimeoutException($"the queue did not answer the touch of job '{JobId}' within {_settings.AskAgain.GiveUpAfter}");
            default:
                throw new InvalidOperationException($"unexpected reply to touch: {reply}");
        }
    }

    internal void Start() => WatchLease(Reserved.Deadline);

    internal void End()
    {
        _lease.Dispose();
        _expiry.Dispose();
    }

    private void WatchLease(DateTimeOffset deadline)
    {
        LeaseDeadline = deadline;
        var left = deadline - _time.GetUtcNow();
        _expiry.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
    }
}

/// <summary>The lease of a job is over (it expired or was taken over); the job may already run elsewhere.</summary>
public sealed class LeaseLostException(string jobId, string reason)
    : Exception($"the lease on job '{jobId}' is lost: {reason}")
{
    /// <summary>The job.</summary>
    public string JobId { get; } = jobId;
}
