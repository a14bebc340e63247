using System.Text;
using Linda.Beanstalk.Protocol;
using Xunit;
using static Linda.Tests.Beanstalk.Wire;

namespace Linda.Tests.Beanstalk;

/// <summary>
/// Every reply, byte for byte. The expected bytes were captured from a real beanstalkd 1.12 session
/// (Debian's package), the YAML documents with the values that session had.
/// </summary>
public sealed class RepliesSpec
{
    public static TheoryData<string, string> Lines => new()
    {
        { Written(w => Replies.Inserted(w, 49)), "INSERTED 49\r\n" },
        { Written(w => Replies.Inserted(w, ulong.MaxValue)), "INSERTED 18446744073709551615\r\n" },
        { Written(w => Replies.Buried(w, 7)), "BURIED 7\r\n" },
        { Written(Replies.Buried), "BURIED\r\n" },
        { Written(Replies.Draining), "DRAINING\r\n" },
        { Written(w => Replies.Using(w, "golden2")), "USING golden2\r\n" },
        { Written(Replies.DeadlineSoon), "DEADLINE_SOON\r\n" },
        { Written(Replies.TimedOut), "TIMED_OUT\r\n" },
        { Written(Replies.Deleted), "DELETED\r\n" },
        { Written(Replies.NotFound), "NOT_FOUND\r\n" },
        { Written(Replies.Released), "RELEASED\r\n" },
        { Written(Replies.Touched), "TOUCHED\r\n" },
        { Written(w => Replies.Watching(w, 2)), "WATCHING 2\r\n" },
        { Written(Replies.NotIgnored), "NOT_IGNORED\r\n" },
        { Written(w => Replies.Kicked(w, 1)), "KICKED 1\r\n" },
        { Written(w => Replies.Kicked(w, 0)), "KICKED 0\r\n" },
        { Written(w => Replies.Kicked(w)), "KICKED\r\n" },
        { Written(Replies.Paused), "PAUSED\r\n" },
        { Written(Replies.OutOfMemory), "OUT_OF_MEMORY\r\n" },
        { Written(Replies.InternalError), "INTERNAL_ERROR\r\n" },
        { Written(w => Replies.Error(w, ProtocolError.BadFormat)), "BAD_FORMAT\r\n" },
        { Written(w => Replies.Error(w, ProtocolError.UnknownCommand)), "UNKNOWN_COMMAND\r\n" },
        { Written(w => Replies.Error(w, ProtocolError.ExpectedCrlf)), "EXPECTED_CRLF\r\n" },
        { Written(w => Replies.Error(w, ProtocolError.JobTooBig)), "JOB_TOO_BIG\r\n" },
    };

    [Theory, MemberData(nameof(Lines))]
    public void One_line_replies_are_beanstalkds_bytes(string written, string expected) =>
        Assert.Equal(expected, written);

    [Fact]
    public void Reserved_and_found_send_the_body_after_its_length_then_CRLF()
    {
        // beanstalkd, for a put of "a\r\n" (3 bytes): RESERVED 49 3\r\na\r\n\r\n, and the same after FOUND
        Assert.Equal("RESERVED 49 3\r\na\r\n\r\n", Written(w => Replies.Reserved(w, 49, Bytes("a\r\n"))));
        Assert.Equal("FOUND 49 3\r\na\r\n\r\n", Written(w => Replies.Found(w, 49, Bytes("a\r\n"))));
        Assert.Equal("RESERVED 1 0\r\n\r\n", Written(w => Replies.Reserved(w, 1, [])));

        var binary = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        Assert.Equal("FOUND 2 256\r\n" + Encoding.Latin1.GetString(binary) + "\r\n", Written(w => Replies.Found(w, 2, binary)));
    }

    [Fact]
    public void Ok_counts_the_data_without_its_CRLF()
    {
        Assert.Equal("OK 5\r\nhello\r\n", Written(w => Replies.Ok(w, Bytes("hello"))));
    }

    [Fact]
    public void Tube_lists_are_YAML_lists_in_the_given_order()
    {
        Assert.Equal("OK 14\r\n---\n- default\n\r\n", Written(w => Replies.TubeList(w, ["default"])));
        Assert.Equal("OK 20\r\n---\n- default\n- foo\n\r\n", Written(w => Replies.TubeList(w, ["default", "foo"])));
        Assert.Equal("OK 4\r\n---\n\r\n", Written(w => Replies.TubeList(w, [])));
    }

    [Fact]
    public void Stats_job_is_beanstalkds_YAML_in_its_key_order()
    {
        var stats = new JobStats
        {
            Id = 49, Tube = "golden2", State = BeanstalkJobState.Reserved, Priority = 5, Age = 1, Delay = 100, Ttr = 60,
            TimeLeft = 59, File = 0, Reserves = 3, Timeouts = 0, Releases = 1, Buries = 1, Kicks = 2,
        };

        Assert.Equal(
            "OK 151\r\n---\nid: 49\ntube: golden2\nstate: reserved\npri: 5\nage: 1\ndelay: 100\nttr: 60\ntime-left: 59\n" +
            "file: 0\nreserves: 3\ntimeouts: 0\nreleases: 1\nburies: 1\nkicks: 2\n\r\n",
            Written(w => Replies.StatsJob(w, stats)));
    }

    [Theory]
    [InlineData(BeanstalkJobState.Ready, "ready")]
    [InlineData(BeanstalkJobState.Delayed, "delayed")]
    [InlineData(BeanstalkJobState.Reserved, "reserved")]
    [InlineData(BeanstalkJobState.Buried, "buried")]
    public void Stats_job_names_the_state_in_lower_case(BeanstalkJobState state, string name)
    {
        var written = Written(w => Replies.StatsJob(w, new JobStats { Id = 1, Tube = "t", State = state }));
        Assert.Contains($"\nstate: {name}\n", written);
    }

    [Fact]
    public void Stats_tube_is_beanstalkds_YAML_in_its_key_order()
    {
        var stats = new TubeStats
        {
            Name = "golden2", CurrentJobsUrgent = 0, CurrentJobsReady = 0, CurrentJobsReserved = 1, CurrentJobsDelayed = 0,
            CurrentJobsBuried = 0, TotalJobs = 1, CurrentUsing = 1, CurrentWatching = 1, CurrentWaiting = 0, CmdDelete = 0,
            CmdPauseTube = 1, Pause = 30, PauseTimeLeft = 29,
        };

        Assert.Equal(
            "OK 267\r\n---\nname: golden2\ncurrent-jobs-urgent: 0\ncurrent-jobs-ready: 0\ncurrent-jobs-reserved: 1\n" +
            "current-jobs-delayed: 0\ncurrent-jobs-buried: 0\ntotal-jobs: 1\ncurrent-using: 1\ncurrent-watching: 1\n" +
            "current-waiting: 0\ncmd-delete: 0\ncmd-pause-tube: 1\npause: 30\npause-time-left: 29\n\r\n",
            Written(w => Replies.StatsTube(w, stats)));
    }

    [Fact]
    public void Stats_is_beanstalkds_YAML_with_every_key_in_its_order()
    {
        var stats = new ServerStats
        {
            CurrentJobsUrgent = 39, CurrentJobsReady = 40, CurrentJobsReserved = 0, CurrentJobsDelayed = 0, CurrentJobsBuried = 6,
            CmdPut = 57, CmdPeek = 3, CmdPeekReady = 2, CmdPeekDelayed = 3, CmdPeekBuried = 2, CmdReserve = 36,
            CmdReserveWithTimeout = 14, CmdDelete = 2, CmdRelease = 3, CmdUse = 20, CmdWatch = 23, CmdIgnore = 24, CmdBury = 18,
            CmdKick = 14, CmdTouch = 2, CmdStats = 2, CmdStatsJob = 10, CmdStatsTube = 4, CmdListTubes = 3, CmdListTubeUsed = 23,
            CmdListTubesWatched = 2, CmdPauseTube = 7, JobTimeouts = 1, TotalJobs = 47, MaxJobSize = 65535, CurrentTubes = 9,
            CurrentConnections = 1, CurrentProducers = 1, CurrentWorkers = 0, CurrentWaiting = 0, TotalConnections = 190,
            Pid = 5144, Version = "1.12", RusageUtime = Micros(33_576), RusageStime = Micros(44_768), Uptime = 418,
            BinlogOldestIndex = 0, BinlogCurrentIndex = 0, BinlogRecordsMigrated = 0, BinlogRecordsWritten = 0,
            BinlogMaxSize = 10485760, Draining = true, Id = "c963f750d32bdbe6", Hostname = "vm",
            Os = "#1 SMP PREEMPT_DYNAMIC @0", Platform = "x86_64",
        };

        // beanstalkd 1.12 in drain mode (after SIGUSR1), byte for byte
        Assert.Equal(
            "OK 971\r\n---\ncurrent-jobs-urgent: 39\ncurrent-jobs-ready: 40\ncurrent-jobs-reserved: 0\ncurrent-jobs-delayed: 0\n" +
            "current-jobs-buried: 6\ncmd-put: 57\ncmd-peek: 3\ncmd-peek-ready: 2\ncmd-peek-delayed: 3\ncmd-peek-buried: 2\n" +
            "cmd-reserve: 36\ncmd-reserve-with-timeout: 14\ncmd-delete: 2\ncmd-release: 3\ncmd-use: 20\ncmd-watch: 23\n" +
            "cmd-ignore: 24\ncmd-bury: 18\ncmd-kick: 14\ncmd-touch: 2\ncmd-stats: 2\ncmd-stats-job: 10\ncmd-stats-tube: 4\n" +
            "cmd-list-tubes: 3\ncmd-list-tube-used: 23\ncmd-list-tubes-watched: 2\ncmd-pause-tube: 7\njob-timeouts: 1\n" +
            "total-jobs: 47\nmax-job-size: 65535\ncurrent-tubes: 9\ncurrent-connections: 1\ncurrent-producers: 1\n" +
            "current-workers: 0\ncurrent-waiting: 0\ntotal-connections: 190\npid: 5144\nversion: \"1.12\"\n" +
            "rusage-utime: 0.033576\nrusage-stime: 0.044768\nuptime: 418\nbinlog-oldest-index: 0\nbinlog-current-index: 0\n" +
            "binlog-records-migrated: 0\nbinlog-records-written: 0\nbinlog-max-size: 10485760\ndraining: true\n" +
            "id: c963f750d32bdbe6\nhostname: vm\nos: #1 SMP PREEMPT_DYNAMIC @0\nplatform: x86_64\n\r\n",
            Written(w => Replies.Stats(w, stats)));
    }

    [Fact]
    public void Cpu_times_print_as_seconds_and_six_digits_of_microseconds()
    {
        var written = Written(w => Replies.Stats(w, new ServerStats { RusageUtime = Micros(12_000_001), RusageStime = TimeSpan.Zero }));
        Assert.Contains("\nrusage-utime: 12.000001\nrusage-stime: 0.000000\n", written);
        Assert.Contains("\ndraining: false\n", written);
    }

    [Fact]
    public void Names_outside_ASCII_are_refused_rather_than_sent_garbled()
    {
        Assert.Throws<ArgumentException>(() => Written(w => Replies.Using(w, "tübe")));
        Assert.Throws<ArgumentOutOfRangeException>(() => Written(w => Replies.Watching(w, -1)));
    }

    private static TimeSpan Micros(long micros) => TimeSpan.FromTicks(micros * TimeSpan.TicksPerMicrosecond);
}
