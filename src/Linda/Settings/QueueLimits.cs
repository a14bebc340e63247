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

    /// <summary>The defaults.</summary>
    public static QueueLimits Default { get; } = new();
}
