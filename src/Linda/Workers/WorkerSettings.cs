namespace Linda.Workers;

/// <summary>How a node's workers run jobs. Read from <c>linda.workers</c> (see <c>hocon/linda.conf</c>).</summary>
public sealed record WorkerSettings
{
    /// <summary>How long one reserve waits for a job before it is asked again. <b>Default:</b> 30 s.</summary>
    public TimeSpan ReserveWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a worker of a partitioned queue waits on one partition once none had a job (see
    /// <c>linda.workers.partition-poll</c>). <b>Default:</b> 1 s.
    /// </summary>
    public TimeSpan PartitionPoll { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Backoff before the first retry of a failed job. <b>Default:</b> 1 s.</summary>
    public TimeSpan RetryBackoffMin { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest backoff between retries. <b>Default:</b> 10 min.</summary>
    public TimeSpan RetryBackoffMax { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How much of a backoff is random (0 to 1), so retries of many jobs spread out. <b>Default:</b> 0.2.</summary>
    public double RetryJitter { get; init; } = 0.2;

    /// <summary>How long running jobs may go on when the node shuts down before they are released. <b>Default:</b> 10 s.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a worker waits for the queue to answer a verdict or a touch. <b>Default:</b> 10 s.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Longest error text a worker reports with a release or bury, in characters: the queue's
    /// <c>linda.queue.max-text-length</c>, which refuses longer texts. <b>Default:</b> 4096.
    /// </summary>
    public int MaxErrorLength { get; init; } = QueueLimits.Default.MaxTextLength;

    /// <summary>How verdicts, touches and reserves are sent again while the queue moves. <b>Default:</b> <see cref="Linda.AskAgain.Default"/>.</summary>
    public AskAgain AskAgain { get; init; } = AskAgain.Default;

    /// <summary>The defaults.</summary>
    public static WorkerSettings Default { get; } = new();

    /// <summary>
    /// The backoff before retry <paramref name="attempt"/> + 1: exponential from
    /// <see cref="RetryBackoffMin"/>, capped at <see cref="RetryBackoffMax"/>, less up to
    /// <see cref="RetryJitter"/> of it at random.
    /// </summary>
    public TimeSpan Backoff(int attempt, Random? random = null)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var ticks = Math.Min(RetryBackoffMax.Ticks, RetryBackoffMin.Ticks * Math.Pow(2, exponent));
        var jitter = (random ?? Random.Shared).NextDouble() * Math.Clamp(RetryJitter, 0, 1);
        return TimeSpan.FromTicks((long)(ticks * (1 - jitter)));
    }
}
