namespace Linda;

// The replies a queue actor gives: outcomes, and refusals (IFailure) that changed nothing.
public static partial class JobQueue
{
    /// <summary>The job is in the journal.</summary>
    public sealed record Pushed(string JobId, JobState State) : IReply
    {
        /// <summary>The job's sequence number in its queue (its push order; a generated id is this number).</summary>
        public long Seq { get; init; }
    }

    /// <summary>A job leased to the sender until <paramref name="Deadline"/>; <paramref name="Attempt"/> counts from 1.</summary>
    public sealed record Reserved(Job Job, long Token, DateTimeOffset Deadline, int Attempt) : IReply
    {
        /// <summary>The <see cref="Reserve.Pull"/> of the reserve this answers.</summary>
        public long Pull { get; init; }

        /// <summary>The job's sequence number in its queue (its push order; a generated id is this number).</summary>
        public long Seq { get; init; }
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
    /// <param name="Queue">The queue.</param>
    /// <param name="Ready">Jobs ready to be reserved.</param>
    /// <param name="Urgent">Ready jobs with a priority below 1024 (beanstalkd's urgent).</param>
    /// <param name="Delayed">Jobs waiting for their delay.</param>
    /// <param name="Reserved">Jobs under a lease.</param>
    /// <param name="Buried">Buried jobs.</param>
    /// <param name="Waiting">Reserves waiting for a job.</param>
    /// <param name="TotalJobs">Jobs pushed into the queue since it was made.</param>
    /// <param name="PausedUntil">When a pause ends; null when not paused.</param>
    /// <param name="Commands">How many of each command the queue served since it started on its node.</param>
    /// <param name="JobTimeouts">Leases that expired.</param>
    /// <param name="Lag">How long the oldest ready job has been ready (zero with none ready), by the queue's clock.</param>
    /// <param name="Failures">Failed attempts since the queue started on its node: releases with an error, expired and lost leases.</param>
    /// <param name="Cancelled">Jobs cancelled since the queue's state was built (from its journal or a snapshot).</param>
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
        long JobTimeouts = 0,
        TimeSpan Lag = default,
        long Failures = 0,
        long Cancelled = 0) : IReply
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
        /// <summary>A page limit is below 1 or over <see cref="JobQueueState.MaxListLimit"/>.</summary>
        InvalidLimit = 14,
        /// <summary>A listing's cursor is not one the queue gave for that state (or the state is unknown).</summary>
        InvalidCursor = 15,
        /// <summary>A schedule's cron expression, time zone, misfire or overlap rule is not valid, or the queue has too many schedules.</summary>
        InvalidSchedule = 16,
        /// <summary>A unique key is empty, too long or has control characters, or its hold is negative or over the limit.</summary>
        InvalidUnique = 17,
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

    /// <summary>The answer to <see cref="Locate"/>: the queue actor itself, which commands may go to directly.</summary>
    public sealed record Located(Akka.Actor.IActorRef Queue) : IReply;

    /// <summary>The answer to <see cref="GetHealth"/>, by the queue's clock.</summary>
    /// <param name="Queue">The queue.</param>
    /// <param name="Running">False while the queue is being started again after a failed write (its supervisor answers).</param>
    /// <param name="Now">When this was answered.</param>
    /// <param name="WriteInFlightSince">When the journal write in flight started; null with none in flight.</param>
    /// <param name="LastWriteAt">When the journal last acknowledged a write (since this node started the queue).</param>
    /// <param name="LastFailureAt">When the journal last failed or rejected a write; null if it never did.</param>
    /// <param name="LastFailure">What that failure said.</param>
    /// <param name="Failures">Failed writes since this node started the queue.</param>
    public sealed record QueueHealth(
        string Queue,
        bool Running,
        DateTimeOffset Now,
        DateTimeOffset? WriteInFlightSince,
        DateTimeOffset? LastWriteAt,
        DateTimeOffset? LastFailureAt,
        string? LastFailure,
        int Failures) : IReply;

    /// <summary>The answer to <see cref="ListJobs"/>: one page of a state's jobs.</summary>
    /// <param name="State">The state listed.</param>
    /// <param name="Jobs">The page, in the order asked for.</param>
    /// <param name="Next">The cursor of the next page (<see cref="ListJobs.After"/>); null on the last page.</param>
    /// <param name="Total">How many jobs the state holds now.</param>
    public sealed record JobList(JobState State, IReadOnlyList<JobView> Jobs, string? Next, int Total) : IReply
    {
        /// <summary>Equal when the pages hold the same jobs in the same order.</summary>
        public bool Equals(JobList? other) =>
            other is not null && State == other.State && Next == other.Next && Total == other.Total && Jobs.SequenceEqual(other.Jobs);

        /// <inheritdoc />
        public override int GetHashCode() => HashCode.Combine(State, Next, Total, Jobs.Count);
    }
}
