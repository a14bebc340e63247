namespace Linda;

/// <summary>
/// The one place that says when a job's retries are used up and what then happens to it. The queue's
/// state applies it when a lease ends without a verdict (expired, holder gone), and a worker when its
/// handler fails, so the two never disagree.
/// </summary>
public static class RetryRules
{
    /// <summary>
    /// True when attempt <paramref name="attempt"/> (counted from 1) is the job's last: a job with
    /// <see cref="Job.MaxRetries"/> = N has N + 1 attempts; one without a limit never runs out.
    /// </summary>
    public static bool IsLastAttempt(Job job, int attempt) => job.MaxRetries is { } max && attempt > max;

    /// <summary>What becomes of a job whose attempt <paramref name="attempt"/> failed.</summary>
    public static AfterFailure AfterFailedAttempt(Job job, int attempt) =>
        !IsLastAttempt(job, attempt) ? AfterFailure.Retry
        : job.IsPeriodic ? AfterFailure.NextRun
        : AfterFailure.Bury;
}

/// <summary>What becomes of a job after a failed attempt (see <see cref="RetryRules"/>).</summary>
public enum AfterFailure
{
    /// <summary>Retries are left: the job runs again (after a backoff when the handler failed).</summary>
    Retry,

    /// <summary>The last attempt of a periodic job: this run is over and the job waits for its next run; its schedule never stops.</summary>
    NextRun,

    /// <summary>The last attempt of any other job: it is buried with the reason, for a person to look at and kick.</summary>
    Bury,
}
