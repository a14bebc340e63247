using Akka.Actor;
using static Linda.JobQueue;

namespace Linda.Hosting;

/// <summary>How a typed push goes: to which queue, with what id, priority, delay and limits.</summary>
public sealed class PushOptions
{
    /// <summary>The queue. <b>Default:</b> the args type's <see cref="JobClassAttribute.Queue"/>, else the application's first queue.</summary>
    public string? Queue { get; init; }

    /// <summary>The job's id. <b>Default:</b> a new one, made before the first send (so a push sent again is not doubled).</summary>
    public string? Id { get; init; }

    /// <summary>The priority (lower runs first). <b>Default:</b> the queue's.</summary>
    public uint? Priority { get; init; }

    /// <summary>Ready after this long. <b>Default:</b> at once.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>The lease of one attempt. <b>Default:</b> the queue's.</summary>
    public TimeSpan? TimeToRun { get; init; }

    /// <summary>Retries after the first attempt. <b>Default:</b> the queue's.</summary>
    public int? MaxRetries { get; init; }

    /// <summary>The longest one run may take before its worker cancels it (a failure). <b>Default:</b> the queue's.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Its concurrency key: handed out only while the key holds fewer leases than its limit. <b>Default:</b> none.</summary>
    public string? ConcurrencyKey { get; init; }

    /// <summary>Runs again this long after each due time. <b>Default:</b> once.</summary>
    public TimeSpan? Period { get; init; }

    /// <summary>
    /// Makes the job unique by this key: while a job with it is in the queue (or ended less than
    /// <see cref="UniqueFor"/> ago), the push is refused with <see cref="AlreadyExists"/> naming that job.
    /// </summary>
    public string? UniqueKey { get; init; }

    /// <summary>True: the unique key is the job's class and args (a hash of them), as River's unique-by-args.</summary>
    public bool UniqueByArgs { get; init; }

    /// <summary>How long the key stays taken after the job ended. <b>Default:</b> until it ends.</summary>
    public TimeSpan? UniqueFor { get; init; }
}

/// <summary>What a typed push came to: the job's id, or the queue's refusal.</summary>
public sealed record PushResult(string? JobId, IFailure? Failure)
{
    /// <summary>True when the job is in the queue (its push is in the journal).</summary>
    public bool Ok => Failure is null;
}

/// <summary>A queue refused a push (or another command): <see cref="Failure"/> says why.</summary>
public sealed class LindaRejectedException(IFailure failure) : Exception(failure.Message)
{
    /// <summary>The queue's answer.</summary>
    public IFailure Failure { get; } = failure;

    /// <summary>The reason of a <see cref="Rejected"/> refusal (bad input); null for the other refusals.</summary>
    public RejectReason? Reason => (Failure as Rejected)?.Reason;
}

/// <summary>
/// A typed push that survives a failover: the job's id is made before the first send, and a send
/// without an answer in <see cref="Attempt"/> (the queue's node died with the push in flight) is sent
/// again with the same id until <see cref="GiveUpAfter"/>. A push that got there before its answer was
/// lost is answered <see cref="AlreadyExists"/> the second time, which is its success: the job is in
/// the queue once.
/// </summary>
internal static class TypedPush
{
    /// <summary>How long one send waits for its answer.</summary>
    public static readonly TimeSpan Attempt = TimeSpan.FromSeconds(10);

    /// <summary>How long a push is sent again before it fails with a <see cref="TimeoutException"/>.</summary>
    public static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(60);

    private static long _resent;

    /// <summary>Sends made again because the one before got no answer (in this process).</summary>
    public static long Resent => Interlocked.Read(ref _resent);

    /// <summary>The unique key of a job's class and args: <c>args:</c> and the first 128 bits of their SHA-256, in hex.</summary>
    public static string ArgsKey(JobPayload payload)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(payload.Class + "\n");
        var hash = System.Security.Cryptography.SHA256.HashData([.. bytes, .. payload.Body.Span]);
        return "args:" + Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }

    public static async Task<PushResult> TryAsync<TArgs>(ILindaClient client, TArgs args, PushOptions? options, CancellationToken cancellationToken)
        where TArgs : notnull
    {
        options ??= new PushOptions();
        var queue = options.Queue ?? JobArgs.QueueOf(typeof(TArgs)) ?? client.DefaultQueue
            ?? throw new InvalidOperationException("this application has no queue to push to");
        var payload = JobArgs.Payload(args);
        var push = new Push(queue, payload)
        {
            UniqueKey = options.UniqueKey ?? (options.UniqueByArgs ? ArgsKey(payload) : null),
            UniqueFor = options.UniqueFor,
            Id = options.Id ?? Guid.CreateVersion7().ToString("D"), // never digits only (those are generated sequence ids)
            Priority = options.Priority,
            Delay = options.Delay,
            TimeToRun = options.TimeToRun,
            MaxRetries = options.MaxRetries,
            Timeout = options.Timeout,
            ConcurrencyKey = options.ConcurrencyKey,
            Period = options.Period,
        };
        var deadline = DateTime.UtcNow + GiveUpAfter;
        var sentBefore = false;
        while (true)
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var left = deadline - DateTime.UtcNow;
            attempt.CancelAfter(left < Attempt ? (left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1)) : Attempt);
            IReply reply;
            try
            {
                reply = await client.SendAsync(queue, push, attempt.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or AskTimeoutException && !cancellationToken.IsCancellationRequested)
            {
                if (DateTime.UtcNow >= deadline)
                    throw new TimeoutException($"queue '{queue}' did not acknowledge the push of job '{push.Id}' within {GiveUpAfter.TotalSeconds:0} s; it may or may not be in the queue (push it again with this id to know)", e);
                sentBefore = true;
                Interlocked.Increment(ref _resent);
                continue;
            }
            return reply switch
            {
                Pushed pushed => new PushResult(pushed.JobId, null),
                AlreadyExists same when sentBefore && same.JobId == push.Id => new PushResult(same.JobId, null),
                IFailure failure => new PushResult(null, failure),
                _ => throw new InvalidOperationException($"unexpected reply to a push: {reply}"),
            };
        }
    }
}
