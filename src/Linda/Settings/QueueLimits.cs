namespace Linda;

/// <summary>
/// What a queue accepts and the defaults it fills in. Read from <c>linda.queue</c> in HOCON (see
/// <c>hocon/linda.conf</c>); the defaults here are the same as there.
/// </summary>
public sealed record QueueLimits
{
    /// <summary>Largest payload (class plus args, UTF-8 bytes). <b>Default:</b> 64 KiB.</summary>
    public int MaxPayloadBytes { get; init; } = 64 * 1024;

    /// <summary>Longest delay, release delay, pause and reserve wait. <b>Default:</b> 3650 days.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromDays(3650);

    /// <summary>Longest time-to-run. <b>Default:</b> 1 day.</summary>
    public TimeSpan MaxTimeToRun { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Shortest period of a periodic job. <b>Default:</b> 1 s.</summary>
    public TimeSpan MinPeriod { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest error text or bury reason kept with a job. <b>Default:</b> 4096 characters.</summary>
    public int MaxTextLength { get; init; } = 4096;

    /// <summary>Time-to-run of a job pushed without one. <b>Default:</b> 60 s.</summary>
    public TimeSpan DefaultTimeToRun { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries of a job pushed without a count; <c>null</c> for no limit. <b>Default:</b> 10.</summary>
    public int? DefaultMaxRetries { get; init; } = 10;

    /// <summary>
    /// How late a schedule's occurrence may be decided and still count as on time (the timer is a little
    /// late, the queue was busy); older ones are missed (<see cref="JobQueue.Misfire"/>). <b>Default:</b> 10 s.
    /// </summary>
    public TimeSpan ScheduleGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The most missed runs <see cref="JobQueue.Misfire.RunAll"/> makes at once (the latest ones). <b>Default:</b> 100.</summary>
    public int MaxMisfireRuns { get; init; } = 100;

    /// <summary>The most schedules a queue keeps. <b>Default:</b> 10,000.</summary>
    public int MaxSchedules { get; init; } = 10_000;

    /// <summary>
    /// The queue's rate limit: at most this many reserves per <see cref="RatePeriod"/> (a token bucket on
    /// the queue's clock, as deep as the limit); 0 for none. Waiting workers are served the moment the
    /// bucket allows one more. <b>Default:</b> 0.
    /// </summary>
    public int MaxReservesPerPeriod { get; init; }

    /// <summary>The period of <see cref="MaxReservesPerPeriod"/>. <b>Default:</b> 1 s.</summary>
    public TimeSpan RatePeriod { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The most leases one concurrency key may hold at once; 0 for no limit. <b>Default:</b> 0.</summary>
    public int MaxConcurrentPerKey { get; init; }

    /// <summary>Limits of particular keys over <see cref="MaxConcurrentPerKey"/> (0: none for that key). <b>Default:</b> none.</summary>
    public IReadOnlyDictionary<string, int>? ConcurrencyOverrides { get; init; }

    /// <summary>The run timeout of a job pushed without one; null for none. <b>Default:</b> none.</summary>
    public TimeSpan? DefaultTimeout { get; init; }

    /// <summary>The defaults.</summary>
    public static QueueLimits Default { get; } = new();
}
