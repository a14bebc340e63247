namespace Linda;

/// <summary>
/// The queue protocol: the commands a queue actor takes, the replies it gives and the events it
/// persists. Every command is answered with exactly one reply; a refusal changes nothing.
/// </summary>
public static class JobQueue
{
    /// <summary>Everything in this protocol; bound to <c>LindaSerializer</c>.</summary>
    public interface IQueueMessage;

    /// <summary>A command to a queue actor.</summary>
    public interface ICommand : IQueueMessage;

    /// <summary>A command about one job of the queue.</summary>
    public interface IJobCommand : ICommand
    {
        /// <summary>The job the command is about.</summary>
        string JobId { get; }
    }

    /// <summary>A command that refers to a lease handed out by <see cref="Reserve"/>.</summary>
    public interface ILeaseCommand : IJobCommand
    {
        /// <summary>The lease token from <see cref="Reserved"/>.</summary>
        long Token { get; }
    }

    /// <summary>A reply from a queue actor.</summary>
    public interface IReply : IQueueMessage;

    /// <summary>A reply that says the command was refused or failed; nothing was changed.</summary>
    public interface IFailure : IReply
    {
        /// <summary>Why, in words.</summary>
        string Message { get; }
    }

    /// <summary>A persisted change of a queue. <see cref="At"/> is when it happened (absolute).</summary>
    public interface IEvent : IQueueMessage
    {
        /// <summary>When the change happened.</summary>
        DateTimeOffset At { get; }
    }

    // ---------------------------------------------------------------- commands

    /// <summary>
    /// Adds a job. Unset options take the queue's defaults. Answered with <see cref="Pushed"/> once the
    /// job is in the journal, or <see cref="AlreadyExists"/>, <see cref="Rejected"/>, <see cref="WriteFailed"/>.
    /// </summary>
    /// <param name="Queue">The queue the job is for; must be the queue the command is sent to.</param>
    /// <param name="Payload">The handler class and args.</param>
    public sealed record Push(string Queue, JobPayload Payload) : ICommand
    {
        /// <summary>The job id; <c>null</c> lets the queue generate one (its push sequence number).</summary>
        public string? Id { get; init; }

        /// <summary>0 is the most urgent. <b>Default:</b> 1024.</summary>
        public uint? Priority { get; init; }

        /// <summary>How long the job waits in Delayed before it is ready. <b>Default:</b> none.</summary>
        public TimeSpan Delay { get; init; }

        /// <summary>The lease length. <b>Default:</b> <c>linda.queue.default-time-to-run</c>.</summary>
        public TimeSpan? TimeToRun { get; init; }

        /// <summary>Retries after the first attempt; negative for no limit. <b>Default:</b> <c>linda.queue.default-max-retries</c>.</summary>
        public int? MaxRetries { get; init; }

        /// <summary>Makes the job periodic: after each run it is due again one period after its previous due time.</summary>
        public TimeSpan? Period { get; init; }
    }

    /// <summary>A <see cref="Push"/> that waits <paramref name="delay"/> before the job is ready.</summary>
    public static Push Later(string queue, JobPayload payload, TimeSpan delay) => new(queue, payload) { Delay = delay };

    /// <summary>
    /// Asks for a job, waiting up to <paramref name="Wait"/> for one (zero: answer at once). Waiting
    /// reservers are served in arrival order the moment a job is ready. The sender holds the lease and
    /// is watched: if it dies, its jobs go back to Ready at once. Answered with <see cref="Reserved"/>
    /// or <see cref="ReserveTimedOut"/>.
    /// </summary>
    public sealed record Reserve(TimeSpan Wait) : ICommand
    {
        /// <summary>
        /// Set by a consumer that holds one job at a time (Linda's workers do) when it holds none: a
        /// lease the queue still has on record for the sender was lost on the way (its Reserved reply
        /// went down with a crashed node) and goes back to Ready, instead of waiting for its deadline.
        /// </summary>
        public bool HoldsNone { get; init; }

        /// <summary>
        /// The consumer's number for this reserve, growing with each one (0: none), echoed in
        /// <see cref="Reserved.Pull"/>. With <see cref="HoldsNone"/> it bounds the claim: only leases
        /// handed out for earlier reserves are forgotten, and a reserve older than one already seen
        /// from the same sender is stale and dropped unanswered (a newer one is on its way).
        /// </summary>
        public long Pull { get; init; }
    }

    /// <summary>Deletes a reserved job (or, for a periodic job, schedules its next run). Answered with <see cref="Completed"/>.</summary>
    public sealed record Complete(string JobId, long Token) : ILeaseCommand;

    /// <summary>
    /// Gives a reserved job back: to Ready, or to Delayed when <see cref="Delay"/> is set. Answered with
    /// <see cref="Released"/>.
    /// </summary>
    public sealed record Release(string JobId, long Token) : ILeaseCommand
    {
        /// <summary>How long the job waits before it is ready again. <b>Default:</b> none.</summary>
        public TimeSpan Delay { get; init; }

        /// <summary>A new priority. <b>Default:</b> unchanged.</summary>
        public uint? Priority { get; init; }

        /// <summary>The error of the attempt, kept as the job's last error.</summary>
        public string? Error { get; init; }
    }

    /// <summary>Puts a reserved job aside with a reason. Answered with <see cref="Buried"/>.</summary>
    public sealed record Bury(string JobId, long Token, string Reason) : ILeaseCommand
    {
        /// <summary>A new priority. <b>Default:</b> unchanged.</summary>
        public uint? Priority { get; init; }
    }

    /// <summary>Moves up to <paramref name="Bound"/> buried jobs to Ready; if none are buried, delayed ones. Answered with <see cref="Kicked"/>.</summary>
    public sealed record Kick(int Bound) : ICommand;

    /// <summary>Moves one buried or delayed job to Ready. Answered with <see cref="KickedJob"/>.</summary>
    public sealed record KickJob(string JobId) : IJobCommand;

    /// <summary>Renews a lease: its deadline becomes now plus the job's time-to-run. Answered with <see cref="Touched"/>.</summary>
    public sealed record Touch(string JobId, long Token) : ILeaseCommand;

    /// <summary>Deletes a job in any state. Answered with <see cref="Deleted"/>.</summary>
    public sealed record Delete(string JobId) : IJobCommand
    {
        /// <summary>
        /// Refuse (with <see cref="Leased"/>) when the job is reserved: only its holder may end it, by
        /// completing it (beanstalkd's rule for <c>delete</c>). <b>Default:</b> false, any state.
        /// </summary>
        public bool SpareLeased { get; init; }
    }

    /// <summary>
    /// Reserves one job by id, whatever its state but Reserved (beanstalkd's <c>reserve-job</c>); the
    /// sender holds the lease as with <see cref="Reserve"/>. Answered with <see cref="Reserved"/>,
    /// <see cref="NotFound"/> or <see cref="Leased"/>.
    /// </summary>
    public sealed record ReserveJob(string JobId) : IJobCommand;

    /// <summary>
    /// Ends the sender's waiting reserves: each is answered <see cref="ReserveTimedOut"/> as if its
    /// wait were over, and then this command too. A consumer that waited on several queues at once
    /// sends it to the others once one has answered.
    /// </summary>
    public sealed record CancelReserve : ICommand
    {
        /// <summary>The one instance.</summary>
        public static readonly CancelReserve Instance = new();
    }

    /// <summary>Shows a job. Answered with its <see cref="JobView"/> or <see cref="NotFound"/>.</summary>
    public sealed record Peek(string JobId) : IJobCommand;

    /// <summary>Shows the next job to be reserved. Answered with a <see cref="JobView"/> or <see cref="NoJob"/>.</summary>
    public sealed record PeekReady : ICommand
    {
        /// <summary>The one instance.</summary>
        public static readonly PeekReady Instance = new();
    }

    /// <summary>Shows the delayed job due soonest. Answered with a <see cref="JobView"/> or <see cref="NoJob"/>.</summary>
    public sealed record PeekDelayed : ICommand
    {
        /// <summary>The one instance.</summary>
        public static readonly PeekDelayed Instance = new();
    }

    /// <summary>Shows the buried job a kick would take first. Answered with a <see cref="JobView"/> or <see cref="NoJob"/>.</summary>
    public sealed record PeekBuried : ICommand
    {
        /// <summary>The one instance.</summary>
        public static readonly PeekBuried Instance = new();
    }

    /// <summary>Shows a job with its state and counters. Answered with its <see cref="JobView"/> or <see cref="NotFound"/>.</summary>
    public sealed record GetJob(string JobId) : IJobCommand;

    /// <summary>Asks for the queue's counts and counters. Answered with <see cref="QueueStats"/>.</summary>
    public sealed record GetStats : ICommand
    {
        /// <summary>The one instance.</summary>
        public static readonly GetStats Instance = new();
    }

    /// <summary>Stops handing out jobs for <paramref name="Duration"/>. Answered with <see cref="Paused"/>.</summary>
    public sealed record Pause(TimeSpan Duration) : ICommand;

    /// <summary>Ends a pause. Answered with <see cref="Resumed"/>.</summary>
    public sealed record Resume : ICommand
    {
        /// <summary>The one instance.</summary>
        public static readonly Resume Instance = new();
    }

    // ---------------------------------------------------------------- replies

    /// <summary>The job is in the journal.</summary>
    public sealed record Pushed(string JobId, JobState State) : IReply;

    /// <summary>A job leased to the sender until <paramref name="Deadline"/>; <paramref name="Attempt"/> counts from 1.</summary>
    public sealed record Reserved(Job Job, long Token, DateTimeOffset Deadline, int Attempt) : IReply
    {
        /// <summary>The <see cref="Reserve.Pull"/> of the reserve this answers.</summary>
        public long Pull { get; init; }
    }

    /// <summary>No job became ready within the wait.</summary>
    public sealed record ReserveTimedOut : IReply
    {
        /// <summary>The one instance.</summary>
        public static readonly ReserveTimedOut Instance = new();
    }

    /// <summary>The job is done: deleted, or (periodic) due again at <paramref name="NextRunAt"/>.</summary>
    public sealed record Completed(string JobId, DateTimeOffset? NextRunAt) : IReply;

    /// <summary>The job is back in <paramref name="State"/> (Ready or Delayed).</summary>
    public sealed record Released(string JobId, JobState State) : IReply;

    /// <summary>The job is buried.</summary>
    public sealed record Buried(string JobId) : IReply;

    /// <summary><paramref name="Count"/> jobs were kicked to Ready.</summary>
    public sealed record Kicked(int Count) : IReply;

    /// <summary>The job was kicked to Ready.</summary>
    public sealed record KickedJob(string JobId) : IReply;

    /// <summary>The lease now ends at <paramref name="Deadline"/>.</summary>
    public sealed record Touched(string JobId, DateTimeOffset Deadline) : IReply;

    /// <summary>The job is gone.</summary>
    public sealed record Deleted(string JobId) : IReply;

    /// <summary>The queue hands out no jobs until <paramref name="Until"/>.</summary>
    public sealed record Paused(DateTimeOffset Until) : IReply;

    /// <summary>The queue hands out jobs again.</summary>
    public sealed record Resumed : IReply
    {
        /// <summary>The one instance.</summary>
        public static readonly Resumed Instance = new();
    }

    /// <summary>A queue's counts (beanstalkd's <c>stats-tube</c>) and how many of each command it served since it started.</summary>
    public sealed record QueueStats(
        string Queue,
        int Ready,
        int Urgent,
        int Delayed,
        int Reserved,
        int Buried,
        int Waiting,
        long TotalJobs,
        DateTimeOffset? PausedUntil,
        IReadOnlyDictionary<string, long> Commands,
        long JobTimeouts = 0) : IReply
    {
        /// <summary>Jobs in the queue in any state.</summary>
        public int Jobs => Ready + Delayed + Reserved + Buried;
    }

    /// <summary>No job has this id.</summary>
    public sealed record NotFound(string JobId) : IFailure
    {
        /// <inheritdoc />
        public string Message => $"no job '{JobId}'";
    }

    /// <summary>No job is in the state asked for (peek of an empty set).</summary>
    public sealed record NoJob(JobState State) : IFailure
    {
        /// <inheritdoc />
        public string Message => $"no {State.ToString().ToLowerInvariant()} job";
    }

    /// <summary>The job exists but is not reserved, so the lease command does not apply.</summary>
    public sealed record NotReserved(string JobId, JobState State) : IFailure
    {
        /// <inheritdoc />
        public string Message => $"job '{JobId}' is {State.ToString().ToLowerInvariant()}, not reserved";
    }

    /// <summary>The job is reserved under another lease than the token names (the lease expired or was lost).</summary>
    public sealed record StaleLease(string JobId) : IFailure
    {
        /// <inheritdoc />
        public string Message => $"job '{JobId}' is reserved under another lease";
    }

    /// <summary>The job is neither buried nor delayed, so it can't be kicked.</summary>
    public sealed record NotKickable(string JobId, JobState State) : IFailure
    {
        /// <inheritdoc />
        public string Message => $"job '{JobId}' is {State.ToString().ToLowerInvariant()}; only buried and delayed jobs can be kicked";
    }

    /// <summary>The job is reserved by someone, so only its holder may end it.</summary>
    public sealed record Leased(string JobId) : IFailure
    {
        /// <inheritdoc />
        public string Message => $"job '{JobId}' is reserved; only its holder can end it";
    }

    /// <summary>A job with this id exists; no second copy was made.</summary>
    public sealed record AlreadyExists(string JobId) : IFailure
    {
        /// <inheritdoc />
        public string Message => $"job '{JobId}' already exists";
    }

    /// <summary>Why a command was rejected.</summary>
    public enum RejectReason
    {
        /// <summary>The queue name is empty, too long or has characters outside the name alphabet.</summary>
        InvalidQueueName = 1,
        /// <summary>The command names another queue than the one it was sent to.</summary>
        WrongQueue = 2,
        /// <summary>The job id is empty, too long or has characters outside the name alphabet.</summary>
        InvalidJobId = 3,
        /// <summary>The payload (class plus args) is over the queue's limit.</summary>
        PayloadTooLarge = 4,
        /// <summary>The class name is empty or too long.</summary>
        InvalidClass = 5,
        /// <summary>A delay is negative or over the limit.</summary>
        InvalidDelay = 6,
        /// <summary>A time-to-run is not positive or over the limit.</summary>
        InvalidTimeToRun = 7,
        /// <summary>A period is shorter than the minimum or over the limit.</summary>
        InvalidPeriod = 8,
        /// <summary>A reserve wait is negative or over the limit.</summary>
        InvalidWait = 9,
        /// <summary>A kick bound is negative.</summary>
        InvalidBound = 10,
        /// <summary>A text (error, bury reason) is over the limit.</summary>
        InvalidText = 11,
        /// <summary>A pause duration is negative or over the limit.</summary>
        InvalidDuration = 12,
        /// <summary>A reserve came without a sender to hold the lease.</summary>
        NoHolder = 13,
    }

    /// <summary>The command was refused because of its input; nothing changed.</summary>
    public sealed record Rejected(RejectReason Reason, string Message) : IFailure;

    /// <summary>The journal failed to write the change; nothing changed (the queue recovers from its journal).</summary>
    public sealed record WriteFailed(string Message) : IFailure;

    /// <summary>
    /// The queue is stopping to move to another node (a graceful hand-over): nothing changed; send the
    /// command again (through the proxy it reaches the queue's new home). A waiting reserve gets this too.
    /// </summary>
    public sealed record Unavailable(string Message) : IFailure;

    // ---------------------------------------------------------------- events

    /// <summary>A job was pushed; <paramref name="DueAt"/> is set when it starts in Delayed.</summary>
    public sealed record JobPushed(DateTimeOffset At, Job Job, DateTimeOffset? DueAt) : IEvent;

    /// <summary>A job was leased to <paramref name="Holder"/> (an actor path) until <paramref name="Deadline"/>.</summary>
    public sealed record JobReserved(DateTimeOffset At, string JobId, long Token, DateTimeOffset Deadline, string Holder) : IEvent;

    /// <summary>A lease was renewed until <paramref name="Deadline"/>.</summary>
    public sealed record JobTouched(DateTimeOffset At, string JobId, DateTimeOffset Deadline) : IEvent;

    /// <summary>A reserved job was completed.</summary>
    public sealed record JobCompleted(DateTimeOffset At, string JobId) : IEvent;

    /// <summary>A reserved job was released, to Delayed when <paramref name="DueAt"/> is set.</summary>
    public sealed record JobReleased(DateTimeOffset At, string JobId, uint? Priority, DateTimeOffset? DueAt, string? Error) : IEvent;

    /// <summary>A reserved job was buried.</summary>
    public sealed record JobBuried(DateTimeOffset At, string JobId, string Reason, uint? Priority) : IEvent;

    /// <summary>These jobs were kicked to Ready.</summary>
    public sealed record JobsKicked(DateTimeOffset At, IReadOnlyList<string> JobIds) : IEvent;

    /// <summary>A job was deleted.</summary>
    public sealed record JobDeleted(DateTimeOffset At, string JobId) : IEvent;

    /// <summary>A lease ended because its holder died; the attempt counts.</summary>
    public sealed record LeaseLost(DateTimeOffset At, string JobId, long Token, string Reason) : IEvent;

    /// <summary>The queue was paused until <paramref name="Until"/>.</summary>
    public sealed record QueuePaused(DateTimeOffset At, DateTimeOffset Until) : IEvent;

    /// <summary>A pause was ended early.</summary>
    public sealed record QueueResumed(DateTimeOffset At) : IEvent;
}
