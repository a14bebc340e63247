using System.Globalization;
using System.Text;

namespace Linda.Beanstalk.Protocol;

/// <summary>
/// The YAML documents beanstalkd 1.12 sends after <c>OK &lt;bytes&gt;</c>: <c>"---\n"</c>, then one
/// <c>key: value\n</c> per line (or <c>- name\n</c> per list item), values unquoted except the version.
/// Formats copied from prot.c (<c>STATS_FMT</c>, <c>STATS_TUBE_FMT</c>, <c>STATS_JOB_FMT</c>,
/// <c>do_list_tubes</c>) and checked against a real beanstalkd.
/// </summary>
internal static class StatsYaml
{
    public static byte[] Job(JobStats s) => new Document()
        .Add("id", s.Id)
        .Add("tube", s.Tube)
        .Add("state", StateName(s.State))
        .Add("pri", s.Priority)
        .Add("age", s.Age)
        .Add("delay", s.Delay)
        .Add("ttr", s.Ttr)
        .Add("time-left", s.TimeLeft)
        .Add("file", s.File)
        .Add("reserves", s.Reserves)
        .Add("timeouts", s.Timeouts)
        .Add("releases", s.Releases)
        .Add("buries", s.Buries)
        .Add("kicks", s.Kicks)
        .ToBytes();

    public static byte[] Tube(TubeStats s) => new Document()
        .Add("name", s.Name)
        .Add("current-jobs-urgent", s.CurrentJobsUrgent)
        .Add("current-jobs-ready", s.CurrentJobsReady)
        .Add("current-jobs-reserved", s.CurrentJobsReserved)
        .Add("current-jobs-delayed", s.CurrentJobsDelayed)
        .Add("current-jobs-buried", s.CurrentJobsBuried)
        .Add("total-jobs", s.TotalJobs)
        .Add("current-using", s.CurrentUsing)
        .Add("current-watching", s.CurrentWatching)
        .Add("current-waiting", s.CurrentWaiting)
        .Add("cmd-delete", s.CmdDelete)
        .Add("cmd-pause-tube", s.CmdPauseTube)
        .Add("pause", s.Pause)
        .Add("pause-time-left", s.PauseTimeLeft)
        .ToBytes();

    public static byte[] Server(ServerStats s) => new Document()
        .Add("current-jobs-urgent", s.CurrentJobsUrgent)
        .Add("current-jobs-ready", s.CurrentJobsReady)
        .Add("current-jobs-reserved", s.CurrentJobsReserved)
        .Add("current-jobs-delayed", s.CurrentJobsDelayed)
        .Add("current-jobs-buried", s.CurrentJobsBuried)
        .Add("cmd-put", s.CmdPut)
        .Add("cmd-peek", s.CmdPeek)
        .Add("cmd-peek-ready", s.CmdPeekReady)
        .Add("cmd-peek-delayed", s.CmdPeekDelayed)
        .Add("cmd-peek-buried", s.CmdPeekBuried)
        .Add("cmd-reserve", s.CmdReserve)
        .Add("cmd-reserve-with-timeout", s.CmdReserveWithTimeout)
        .Add("cmd-delete", s.CmdDelete)
        .Add("cmd-release", s.CmdRelease)
        .Add("cmd-use", s.CmdUse)
        .Add("cmd-watch", s.CmdWatch)
        .Add("cmd-ignore", s.CmdIgnore)
        .Add("cmd-bury", s.CmdBury)
        .Add("cmd-kick", s.CmdKick)
        .Add("cmd-touch", s.CmdTouch)
        .Add("cmd-stats", s.CmdStats)
        .Add("cmd-stats-job", s.CmdStatsJob)
        .Add("cmd-stats-tube", s.CmdStatsTube)
        .Add("cmd-list-tubes", s.CmdListTubes)
        .Add("cmd-list-tube-used", s.CmdListTubeUsed)
        .Add("cmd-list-tubes-watched", s.CmdListTubesWatched)
        .Add("cmd-pause-tube", s.CmdPauseTube)
        .Add("job-timeouts", s.JobTimeouts)
        .Add("total-jobs", s.TotalJobs)
        .Add("max-job-size", s.MaxJobSize)
        .Add("current-tubes", s.CurrentTubes)
        .Add("current-connections", s.CurrentConnections)
        .Add("current-producers", s.CurrentProducers)
        .Add("current-workers", s.CurrentWorkers)
        .Add("current-waiting", s.CurrentWaiting)
        .Add("total-connections", s.TotalConnections)
        .Add("pid", s.Pid)
        .Add("version", $"\"{s.Version}\"")
        .Add("rusage-utime", CpuSeconds(s.RusageUtime))
        .Add("rusage-stime", CpuSeconds(s.RusageStime))
        .Add("uptime", s.Uptime)
        .Add("binlog-oldest-index", s.BinlogOldestIndex)
        .Add("binlog-current-index", s.BinlogCurrentIndex)
        .Add("binlog-records-migrated", s.BinlogRecordsMigrated)
        .Add("binlog-records-written", s.BinlogRecordsWritten)
        .Add("binlog-max-size", s.BinlogMaxSize)
        .Add("draining", s.Draining ? "true" : "false")
        .Add("id", s.Id)
        .Add("hostname", s.Hostname)
        .Add("os", s.Os)
        .Add("platform", s.Platform)
        .ToBytes();

    /// <summary>A YAML list of names, one <c>- name</c> line each.</summary>
    public static byte[] List(IEnumerable<string> names)
    {
        var text = new StringBuilder("---\n");
        foreach (var name in names)
            text.Append("- ").Append(name).Append('\n');
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static string StateName(BeanstalkJobState state) => state switch
    {
        BeanstalkJobState.Ready => "ready",
        BeanstalkJobState.Delayed => "delayed",
        BeanstalkJobState.Reserved => "reserved",
        BeanstalkJobState.Buried => "buried",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    /// <summary>C's <c>"%d.%06d"</c> of a <c>struct timeval</c>: whole seconds, then microseconds.</summary>
    private static string CpuSeconds(TimeSpan time)
    {
        var micros = time.Ticks / TimeSpan.TicksPerMicrosecond;
        return string.Create(CultureInfo.InvariantCulture, $"{micros / 1_000_000}.{micros % 1_000_000:D6}");
    }

    /// <summary>A YAML dictionary built key by key, in order.</summary>
    private sealed class Document
    {
        private readonly StringBuilder _text = new("---\n");

        public Document Add(string key, string value)
        {
            _text.Append(key).Append(": ").Append(value).Append('\n');
            return this;
        }

        public Document Add(string key, long value) => Add(key, value.ToString(CultureInfo.InvariantCulture));

        public Document Add(string key, ulong value) => Add(key, value.ToString(CultureInfo.InvariantCulture));

        public byte[] ToBytes() => Encoding.UTF8.GetBytes(_text.ToString());
    }
}
