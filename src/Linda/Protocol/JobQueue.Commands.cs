namespace Linda;

// The commands a queue actor takes: imperative, each answered with exactly one reply.
public static partial class JobQueue
{
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

        /// <summary>
        /// Makes the job unique by this key: while a job with it is in the queue (any state), or ended
        /// less than <see cref="UniqueFor"/> ago, the push is answered <see cref="AlreadyExists"/> with that
        /// job's id and nothing is pushed. <b>Default:</b> not unique.
        /// </summary>
        public string? UniqueKey { get; init; }

        /// <summary>How long the key stays taken after the job ended. <b>Default:</b> until it ends.</summary>
        public TimeSpan? UniqueFor { get; init; }

        /// <summary>The longest one run may take before its worker cancels it (a failure). <b>Default:</b> the queue's (<c>default-timeout</c>, none).</summary>
        public TimeSpan? Timeout { get; init; }

        /// <summary>
        /// Its concurrency key (a customer, a tenant): the queue never hands out a job whose key already
        /// holds its limit of leases; the others of the key wait their turn in order, and jobs of other
        /// keys go ahead. <b>Default:</b> none.
        /// </summary>
        public string? ConcurrencyKey { get; init; }

        /// <summary>Makes the job periodic: after each run it is due again one period after its previous due time.</summary>
        public TimeSpan? Period { get; init; }

        /// <summary>
        /// The W3C <c>traceparent</c> of the pushing span; <c>ILindaClient</c> fills it in. One that
        /// doesn't parse is ignored, as W3C Trace Context says, and the job is pushed without it.
        /// </summary>
        public string? TraceParent { get; init; }
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

    /// <summary>
    /// Asks where the queue actor itself is. A queue is addressed through its supervisor (or a cluster
    /// singleton's proxy), which forwards every command; a sender that sends many commands may send
    /// them straight to the queue actor instead, one hop less each. Answered at once by the queue actor
    /// with <see cref="Located"/>. When that actor terminates (a failed write restarts it, a hand-over
    /// moves it), locate it again through the address you were given.
    /// </summary>
    public sealed record Locate : ICommand
    {
        /// <summary>The one instance.</summary>
        public static readonly Locate Instance = new();
    }

    /// <summary>
    /// Asks how the queue and its journal are doing: answered at once with <see cref="QueueHealth"/>,
    /// by the queue actor, or by its supervisor while the queue is being started again after a failed
    /// write. A health check's question; it changes nothing.
    /// </summary>
    public sealed record GetHealth : ICommand
    {
        /// <summary>The one instance.</summary>
        public static readonly GetHealth Instance = new();
    }

    /// <summary>
    /// Asks for one page of the jobs in <paramref name="State"/>, in that state's order (see
    /// <see cref="JobQueueState.ListJobs"/>); answered with <see cref="JobList"/>, or
    /// <see cref="Rejected"/> for a bad limit or cursor. Changes nothing.
    /// </summary>
    public sealed record ListJobs(JobState State) : ICommand
    {
        /// <summary>The cursor a previous page gave (<see cref="JobList.Next"/>); null for the first page.</summary>
        public string? After { get; init; }

        /// <summary>The most jobs on the page, 1 to <see cref="JobQueueState.MaxListLimit"/>. <b>Default:</b> 50.</summary>
        public int Limit { get; init; } = 50;

        /// <summary>True for the reverse order: for buried jobs, the newest buried first; for ready, the least urgent.</summary>
        public bool Reverse { get; init; }
    }
}
