using static Linda.JobQueue;

namespace Linda.Tests.Infrastructure;

/// <summary>The specs' one builder of jobs: a spec says only what it cares about, the rest is the same everywhere.</summary>
public static class TestJobs
{
    /// <summary>The queue the specs use unless they say otherwise.</summary>
    public const string Queue = "jobs";

    /// <summary>A payload of handler class <paramref name="cls"/> with <paramref name="args"/> as JSON.</summary>
    public static JobPayload Payload(string cls = "work", params object?[] args) => JobPayload.Create(cls, args);

    /// <summary>A push with the options given and the queue's defaults for the rest.</summary>
    public static Push Push(string? id = null, uint? priority = null, TimeSpan delay = default, TimeSpan? ttr = null, int? maxRetries = null,
        TimeSpan? period = null, JobPayload? payload = null, string queue = Queue) =>
        new(queue, payload ?? Payload())
        {
            Id = id,
            Priority = priority,
            Delay = delay,
            TimeToRun = ttr,
            MaxRetries = maxRetries,
            Period = period,
        };
}
