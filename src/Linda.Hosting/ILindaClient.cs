using Akka.Actor;
using Linda.Telemetry;
using static Linda.JobQueue;

namespace Linda.Hosting;

/// <summary>
/// Linda for application code on any node: push jobs and look at queues. An implementation gives
/// <see cref="Queues"/>, <see cref="Queue"/> and <see cref="SendAsync"/>; every other call sends its
/// command with <see cref="SendAsync"/>. Every call returns the
/// queue's typed reply (a refusal is an <see cref="IFailure"/>, never an exception); a queue this
/// application does not know gets <see cref="Rejected"/> with <see cref="RejectReason.InvalidQueueName"/>.
/// </summary>
public interface ILindaClient
{
    /// <summary>The queues this application knows.</summary>
    IReadOnlyCollection<string> Queues { get; }

    /// <summary>
    /// The partitions of a partitioned queue (<c>QUEUE~0</c> ..., see <see cref="QueuePartitions"/>), each
    /// a queue that <see cref="SendAsync"/> takes commands for; empty for a queue of one actor.
    /// </summary>
    IReadOnlyList<string> PartitionsOf(string queue) => [];

    /// <summary>This node's address of a queue (whatever its placement), for code that sends commands itself.</summary>
    /// <exception cref="ArgumentException">No such queue.</exception>
    IActorRef Queue(string name);

    /// <summary>The queue a typed push goes to when neither it nor its args type names one. <b>Default:</b> the first of <see cref="Queues"/>.</summary>
    string? DefaultQueue => Queues.FirstOrDefault();

    /// <summary>
    /// Pushes a typed job (<see cref="JobArgs"/>: the class from the type, the args its JSON) and returns
    /// its id once it is in the journal. Safe through a failover: the id is made before the first send
    /// and the push is sent again with it when an answer doesn't come, so it is in the queue once.
    /// </summary>
    /// <exception cref="LindaRejectedException">The queue refused it (the reason is in the exception).</exception>
    /// <exception cref="TimeoutException">No answer for a minute: it may or may not be in the queue.</exception>
    async Task<string> PushAsync<TArgs>(TArgs args, PushOptions? options = null, CancellationToken cancellationToken = default) where TArgs : notnull
    {
        var result = await TryPushAsync(args, options, cancellationToken);
        return result is { Ok: true, JobId: { } id } ? id : throw new LindaRejectedException(result.Failure!);
    }

    /// <summary>As <see cref="PushAsync{TArgs}"/>, with a refusal in the result instead of an exception.</summary>
    Task<PushResult> TryPushAsync<TArgs>(TArgs args, PushOptions? options = null, CancellationToken cancellationToken = default) where TArgs : notnull =>
        TypedPush.TryAsync(this, args, options, cancellationToken);

    /// <summary>Sends any command to a queue and returns its reply.</summary>
    Task<IReply> SendAsync(string queue, ICommand command, CancellationToken cancellationToken = default);

    /// <summary>Pushes a job: <see cref="Pushed"/> once it is in the journal.</summary>
    [System.Runtime.CompilerServices.OverloadResolutionPriority(1)] // a Push is a command, not a typed job's args
    Task<IReply> PushAsync(Push push, CancellationToken cancellationToken = default) => SendAsync(push.Queue, push, cancellationToken);

    /// <summary>Pushes a job to <paramref name="queue"/>.</summary>
    Task<IReply> PushAsync(string queue, JobPayload payload, string? id = null, CancellationToken cancellationToken = default) =>
        PushAsync(new Push(queue, payload) { Id = id }, cancellationToken);

    /// <summary>Pushes a job that becomes ready after <paramref name="delay"/>.</summary>
    Task<IReply> LaterAsync(string queue, JobPayload payload, TimeSpan delay, string? id = null, CancellationToken cancellationToken = default) =>
        PushAsync(Later(queue, payload, delay) with { Id = id }, cancellationToken);

    /// <summary>A job with its state and counters: <see cref="JobView"/> or <see cref="NotFound"/>.</summary>
    Task<IReply> GetJobAsync(string queue, string jobId, CancellationToken cancellationToken = default) =>
        SendAsync(queue, new GetJob(jobId), cancellationToken);

    /// <summary>The queue's counts and counters: <see cref="QueueStats"/>.</summary>
    Task<IReply> GetStatsAsync(string queue, CancellationToken cancellationToken = default) =>
        SendAsync(queue, GetStats.Instance, cancellationToken);

    /// <summary>Deletes a job in any state.</summary>
    Task<IReply> DeleteAsync(string queue, string jobId, CancellationToken cancellationToken = default) =>
        SendAsync(queue, new Delete(jobId), cancellationToken);

    /// <summary>
    /// Cancels a job: a waiting one is removed, a running one's handler sees its cancellation token fire
    /// (on whichever node it runs) and the job ends as cancelled: <see cref="Cancelled"/> or <see cref="NotFound"/>.
    /// </summary>
    Task<IReply> CancelAsync(string queue, string jobId, CancellationToken cancellationToken = default) =>
        SendAsync(queue, new Cancel(jobId), cancellationToken);

    /// <summary>Kicks up to <paramref name="bound"/> buried (else delayed) jobs to Ready.</summary>
    Task<IReply> KickAsync(string queue, int bound, CancellationToken cancellationToken = default) =>
        SendAsync(queue, new Kick(bound), cancellationToken);

    /// <summary>Kicks one buried or delayed job to Ready.</summary>
    Task<IReply> KickJobAsync(string queue, string jobId, CancellationToken cancellationToken = default) =>
        SendAsync(queue, new KickJob(jobId), cancellationToken);

    /// <summary>Stops handing out jobs of <paramref name="queue"/> for <paramref name="duration"/>.</summary>
    Task<IReply> PauseAsync(string queue, TimeSpan duration, CancellationToken cancellationToken = default) =>
        SendAsync(queue, new Pause(duration), cancellationToken);

    /// <summary>Adds or replaces a schedule of <paramref name="queue"/>: <see cref="ScheduleSaved"/> with its next run, or a refusal.</summary>
    Task<IReply> AddOrUpdateScheduleAsync(string queue, AddOrUpdateSchedule schedule, CancellationToken cancellationToken = default) =>
        SendAsync(queue, schedule, cancellationToken);

    /// <summary>
    /// Adds or replaces a schedule whose runs are typed jobs of <typeparamref name="TArgs"/>
    /// (<c>"0 2 * * *"</c>, or 6 fields with seconds first) on <paramref name="queue"/> (default: the args
    /// type's <see cref="JobClassAttribute.Queue"/>, else <see cref="DefaultQueue"/>); <paramref name="configure"/>
    /// sets the rest (<c>s => s with { TimeZone = "Europe/Berlin", Misfire = Misfire.Skip }</c>). Returns
    /// its next run (null: none).
    /// </summary>
    /// <exception cref="LindaRejectedException">The queue refused it (a bad expression or time zone, ...).</exception>
    async Task<DateTimeOffset?> AddOrUpdateScheduleAsync<TArgs>(string scheduleId, string cron, TArgs args, string? queue = null,
        Func<AddOrUpdateSchedule, AddOrUpdateSchedule>? configure = null, CancellationToken cancellationToken = default) where TArgs : notnull
    {
        queue ??= JobArgs.QueueOf(typeof(TArgs)) ?? DefaultQueue ?? throw new InvalidOperationException("this application has no queue");
        var schedule = new AddOrUpdateSchedule(scheduleId, cron, JobArgs.Payload(args));
        var reply = await SendAsync(queue, configure is null ? schedule : configure(schedule), cancellationToken);
        return reply is ScheduleSaved saved ? saved.NextRunAt : throw new LindaRejectedException(reply as IFailure ?? new Rejected(RejectReason.InvalidSchedule, $"unexpected reply {reply}"));
    }

    /// <summary>Removes a schedule (its runs already made stay): <see cref="ScheduleRemoved"/> or <see cref="NotFound"/>.</summary>
    Task<IReply> RemoveScheduleAsync(string queue, string scheduleId, CancellationToken cancellationToken = default) =>
        SendAsync(queue, new RemoveSchedule(scheduleId), cancellationToken);

    /// <summary>The queue's schedules with their next runs and counts: <see cref="ScheduleList"/>.</summary>
    Task<IReply> GetSchedulesAsync(string queue, CancellationToken cancellationToken = default) =>
        SendAsync(queue, GetSchedules.Instance, cancellationToken);

    /// <summary>Ends a pause.</summary>
    Task<IReply> ResumeAsync(string queue, CancellationToken cancellationToken = default) =>
        SendAsync(queue, JobQueue.Resume.Instance, cancellationToken);
}

/// <summary>The <see cref="ILindaClient"/> over this node's addresses of the queues.</summary>
public sealed class LindaClient(ActorSystem system) : ILindaClient
{
    // akka.actor.ask-timeout when it is set; Akka's default is none, and a client call must end.
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private readonly TimeSpan _timeout = system.Settings.AskTimeout is { } t && t > TimeSpan.Zero && t != Timeout.InfiniteTimeSpan ? t : DefaultTimeout;
    private readonly AskAgain _askAgain = LindaSettings.Create(system).AskAgain;

    /// <inheritdoc />
    public IReadOnlyCollection<string> Queues => LindaNode.Get(system).Queues.Keys.ToArray();

    /// <inheritdoc />
    public string? DefaultQueue => LindaNode.Get(system).DefaultQueue;

    /// <inheritdoc />
    public IReadOnlyList<string> PartitionsOf(string queue) =>
        LindaNode.Get(system).Partitions.TryGetValue(queue, out var partitions) ? partitions : [];

    /// <inheritdoc />
    public IActorRef Queue(string name) =>
        LindaNode.Get(system).TryGetAddress(name ?? "", out var proxy)
            ? proxy
            : throw new ArgumentException($"no queue '{name}' here; the queues are: {string.Join(", ", Queues)}", nameof(name));

    /// <inheritdoc />
    public async Task<IReply> SendAsync(string queue, ICommand command, CancellationToken cancellationToken = default)
    {
        if (!LindaNode.Get(system).TryGetAddress(queue ?? "", out var proxy))
            return new Rejected(RejectReason.InvalidQueueName, Names.Check(queue, "queue name") ?? $"no queue '{queue}' in this application");
        // While the queue hands over to another node it answers Unavailable: ask again (through this
        // node's address of it, which finds the new node) until the timeout; an ask without an answer throws.
        var deadline = DateTime.UtcNow + _timeout;
        var askAgain = _askAgain with { GiveUpAfter = _timeout };
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // A push is a PRODUCER span; the job carries its context (or the caller's, when nothing listens to Linda's spans).
        using var span = command is Push ? LindaTelemetry.StartSend(queue!) : null;
        if (command is Push { TraceParent: null } push && (span ?? System.Diagnostics.Activity.Current) is { } context)
            command = push with { TraceParent = context.Id };
        try
        {
            var reply = await askAgain.AskAsync(async ct =>
            {
                var left = deadline - DateTime.UtcNow;
                return await proxy.Ask<IReply>(command, left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1), ct);
            }, TimeProvider.System, cancellationToken);
            LindaTelemetry.ClientOperation(queue!, command, started, reply is IFailure ? reply.GetType().Name : null);
            if (span is not null)
                LindaTelemetry.Sent(span, reply!);
            return reply!;
        }
        catch (Exception e)
        {
            LindaTelemetry.ClientOperation(queue!, command, started, e.GetType().Name);
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, e.Message).SetTag(LindaTelemetry.Attributes.ErrorType, e.GetType().FullName);
            throw;
        }
    }
}
