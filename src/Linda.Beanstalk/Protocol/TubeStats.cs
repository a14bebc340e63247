namespace Linda.Beanstalk.Protocol;

/// <summary>
/// The answer to <c>stats-tube</c>, in beanstalkd 1.12's key order. Written by <see cref="Replies.StatsTube"/>.
/// </summary>
public sealed record TubeStats
{
    /// <summary><c>name</c>: the tube's name.</summary>
    public required string Name { get; init; }

    /// <summary><c>current-jobs-urgent</c>: ready jobs with priority below 1024.</summary>
    public ulong CurrentJobsUrgent { get; init; }

    /// <summary><c>current-jobs-ready</c>.</summary>
    public ulong CurrentJobsReady { get; init; }

    /// <summary><c>current-jobs-reserved</c>: reserved by any client.</summary>
    public ulong CurrentJobsReserved { get; init; }

    /// <summary><c>current-jobs-delayed</c>.</summary>
    public ulong CurrentJobsDelayed { get; init; }

    /// <summary><c>current-jobs-buried</c>.</summary>
    public ulong CurrentJobsBuried { get; init; }

    /// <summary><c>total-jobs</c>: jobs created in this tube since the server started.</summary>
    public ulong TotalJobs { get; init; }

    /// <summary><c>current-using</c>: open connections using the tube.</summary>
    public uint CurrentUsing { get; init; }

    /// <summary><c>current-watching</c>: open connections watching the tube.</summary>
    public uint CurrentWatching { get; init; }

    /// <summary><c>current-waiting</c>: connections waiting in a reserve that watches the tube.</summary>
    public ulong CurrentWaiting { get; init; }

    /// <summary><c>cmd-delete</c>: delete commands for jobs of this tube.</summary>
    public ulong CmdDelete { get; init; }

    /// <summary><c>cmd-pause-tube</c>: pause-tube commands for this tube.</summary>
    public ulong CmdPauseTube { get; init; }

    /// <summary><c>pause</c>: the seconds of the current pause (0 when not paused).</summary>
    public ulong Pause { get; init; }

    /// <summary><c>pause-time-left</c>: seconds until the tube is no longer paused.</summary>
    public long PauseTimeLeft { get; init; }
}
