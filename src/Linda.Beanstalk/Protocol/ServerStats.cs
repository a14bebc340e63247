namespace Linda.Beanstalk.Protocol;

/// <summary>
/// The answer to <c>stats</c>: every key beanstalkd 1.12 prints, in its order. Counters marked
/// cumulative count since the server started. Written by <see cref="Replies.Stats"/>.
/// </summary>
public sealed record ServerStats
{
    /// <summary><c>current-jobs-urgent</c>: ready jobs with priority below 1024.</summary>
    public ulong CurrentJobsUrgent { get; init; }

    /// <summary><c>current-jobs-ready</c>.</summary>
    public ulong CurrentJobsReady { get; init; }

    /// <summary><c>current-jobs-reserved</c>.</summary>
    public ulong CurrentJobsReserved { get; init; }

    /// <summary><c>current-jobs-delayed</c>.</summary>
    public ulong CurrentJobsDelayed { get; init; }

    /// <summary><c>current-jobs-buried</c>.</summary>
    public ulong CurrentJobsBuried { get; init; }

    /// <summary><c>cmd-put</c> (cumulative, like every <c>cmd-</c> key).</summary>
    public ulong CmdPut { get; init; }

    /// <summary><c>cmd-peek</c>.</summary>
    public ulong CmdPeek { get; init; }

    /// <summary><c>cmd-peek-ready</c>.</summary>
    public ulong CmdPeekReady { get; init; }

    /// <summary><c>cmd-peek-delayed</c>.</summary>
    public ulong CmdPeekDelayed { get; init; }

    /// <summary><c>cmd-peek-buried</c>.</summary>
    public ulong CmdPeekBuried { get; init; }

    /// <summary><c>cmd-reserve</c>.</summary>
    public ulong CmdReserve { get; init; }

    /// <summary><c>cmd-reserve-with-timeout</c>.</summary>
    public ulong CmdReserveWithTimeout { get; init; }

    /// <summary><c>cmd-delete</c>.</summary>
    public ulong CmdDelete { get; init; }

    /// <summary><c>cmd-release</c>.</summary>
    public ulong CmdRelease { get; init; }

    /// <summary><c>cmd-use</c>.</summary>
    public ulong CmdUse { get; init; }

    /// <summary><c>cmd-watch</c>.</summary>
    public ulong CmdWatch { get; init; }

    /// <summary><c>cmd-ignore</c>.</summary>
    public ulong CmdIgnore { get; init; }

    /// <summary><c>cmd-bury</c>.</summary>
    public ulong CmdBury { get; init; }

    /// <summary><c>cmd-kick</c>.</summary>
    public ulong CmdKick { get; init; }

    /// <summary><c>cmd-touch</c>.</summary>
    public ulong CmdTouch { get; init; }

    /// <summary><c>cmd-stats</c>.</summary>
    public ulong CmdStats { get; init; }

    /// <summary><c>cmd-stats-job</c>.</summary>
    public ulong CmdStatsJob { get; init; }

    /// <summary><c>cmd-stats-tube</c>.</summary>
    public ulong CmdStatsTube { get; init; }

    /// <summary><c>cmd-list-tubes</c>.</summary>
    public ulong CmdListTubes { get; init; }

    /// <summary><c>cmd-list-tube-used</c>.</summary>
    public ulong CmdListTubeUsed { get; init; }

    /// <summary><c>cmd-list-tubes-watched</c>.</summary>
    public ulong CmdListTubesWatched { get; init; }

    /// <summary><c>cmd-pause-tube</c>.</summary>
    public ulong CmdPauseTube { get; init; }

    /// <summary><c>job-timeouts</c>: how often a reservation timed out (cumulative).</summary>
    public ulong JobTimeouts { get; init; }

    /// <summary><c>total-jobs</c>: jobs created (cumulative).</summary>
    public ulong TotalJobs { get; init; }

    /// <summary><c>max-job-size</c>: the largest job body, in bytes.</summary>
    public ulong MaxJobSize { get; init; } = FrameReader.DefaultMaxJobSize;

    /// <summary><c>current-tubes</c>: tubes that exist now.</summary>
    public ulong CurrentTubes { get; init; }

    /// <summary><c>current-connections</c>: open connections.</summary>
    public uint CurrentConnections { get; init; }

    /// <summary><c>current-producers</c>: open connections that have sent a put.</summary>
    public uint CurrentProducers { get; init; }

    /// <summary><c>current-workers</c>: open connections that have sent a reserve.</summary>
    public uint CurrentWorkers { get; init; }

    /// <summary><c>current-waiting</c>: connections waiting in a reserve.</summary>
    public ulong CurrentWaiting { get; init; }

    /// <summary><c>total-connections</c>: connections accepted (cumulative).</summary>
    public uint TotalConnections { get; init; }

    /// <summary><c>pid</c>: the server's process id.</summary>
    public long Pid { get; init; }

    /// <summary><c>version</c>: printed in double quotes, as beanstalkd 1.12 does (<c>version: "1.12"</c>).</summary>
    public string Version { get; init; } = "";

    /// <summary><c>rusage-utime</c>: user CPU time, printed as seconds with six decimals.</summary>
    public TimeSpan RusageUtime { get; init; }

    /// <summary><c>rusage-stime</c>: system CPU time, printed as seconds with six decimals.</summary>
    public TimeSpan RusageStime { get; init; }

    /// <summary><c>uptime</c>: seconds since the server started.</summary>
    public uint Uptime { get; init; }

    /// <summary><c>binlog-oldest-index</c>: the oldest binlog file still needed; 0 without a binlog.</summary>
    public int BinlogOldestIndex { get; init; }

    /// <summary><c>binlog-current-index</c>: the binlog file being written; 0 without a binlog.</summary>
    public int BinlogCurrentIndex { get; init; }

    /// <summary><c>binlog-records-migrated</c>: records rewritten by compaction (cumulative).</summary>
    public long BinlogRecordsMigrated { get; init; }

    /// <summary><c>binlog-records-written</c>: records written (cumulative).</summary>
    public long BinlogRecordsWritten { get; init; }

    /// <summary><c>binlog-max-size</c>: the largest binlog file, in bytes.</summary>
    public int BinlogMaxSize { get; init; }

    /// <summary><c>draining</c>: whether the server refuses new jobs (<c>true</c>/<c>false</c>).</summary>
    public bool Draining { get; init; }

    /// <summary><c>id</c>: a random id of this server process (beanstalkd: 16 hex digits).</summary>
    public string Id { get; init; } = "";

    /// <summary><c>hostname</c>: the machine's name (uname).</summary>
    public string Hostname { get; init; } = "";

    /// <summary><c>os</c>: the OS version (uname).</summary>
    public string Os { get; init; } = "";

    /// <summary><c>platform</c>: the machine architecture (uname), e.g. <c>x86_64</c>.</summary>
    public string Platform { get; init; } = "";
}
