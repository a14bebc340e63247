using System.Collections.Concurrent;
using Linda.Beanstalk.Protocol;

namespace Linda.Beanstalk;

/// <summary>
/// What one node's front end counts for <c>stats</c> and <c>stats-tube</c>: its connections, which tubes
/// they use, watch and wait on, and the commands they sent. Job counts come from the queues themselves
/// (cluster-wide); these are this node's, since connections belong to a node.
/// </summary>
internal sealed class FrontEndCounters(TimeProvider time)
{
    /// <summary>The <c>cmd-*</c> keys of <c>stats</c>.</summary>
    public enum Cmd
    {
        Put, Peek, PeekReady, PeekDelayed, PeekBuried, Reserve, ReserveWithTimeout, Delete, Release, Use, Watch, Ignore,
        Bury, Kick, Touch, Stats, StatsJob, StatsTube, ListTubes, ListTubeUsed, ListTubesWatched, PauseTube,
    }

    /// <summary>A tube's connection counts on this node.</summary>
    public sealed class TubeUsage
    {
        public int Using;
        public int Watching;
        public int Waiting;
        public long CmdDelete;
        public long CmdPauseTube;
        public uint PauseSeconds;

        public bool InUse => Volatile.Read(ref Using) + Volatile.Read(ref Watching) + Volatile.Read(ref Waiting) > 0;
    }

    private readonly long[] _commands = new long[Enum.GetValues<Cmd>().Length];
    private readonly ConcurrentDictionary<string, TubeUsage> _tubes = new(StringComparer.Ordinal);

    public readonly DateTimeOffset StartedAt = time.GetUtcNow();
    public int CurrentConnections;
    public int TotalConnections;
    public int CurrentProducers;
    public int CurrentWorkers;
    public int CurrentWaiting;

    /// <summary>Set by <see cref="BeanstalkServer.Drain"/>: puts are answered <c>DRAINING</c>.</summary>
    public volatile bool Draining;

    public void Count(Cmd cmd) => Interlocked.Increment(ref _commands[(int)cmd]);

    public ulong this[Cmd cmd] => (ulong)Interlocked.Read(ref _commands[(int)cmd]);

    public TubeUsage Tube(string name) => _tubes.GetOrAdd(name, _ => new TubeUsage());

    /// <summary>The <c>stats</c> keys this node knows, job counts left for the caller to fill in.</summary>
    public ServerStats Server(int maxJobSize)
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return new ServerStats
        {
            CmdPut = this[Cmd.Put],
            CmdPeek = this[Cmd.Peek],
            CmdPeekReady = this[Cmd.PeekReady],
            CmdPeekDelayed = this[Cmd.PeekDelayed],
            CmdPeekBuried = this[Cmd.PeekBuried],
            CmdReserve = this[Cmd.Reserve],
            CmdReserveWithTimeout = this[Cmd.ReserveWithTimeout],
            CmdDelete = this[Cmd.Delete],
            CmdRelease = this[Cmd.Release],
            CmdUse = this[Cmd.Use],
            CmdWatch = this[Cmd.Watch],
            CmdIgnore = this[Cmd.Ignore],
            CmdBury = this[Cmd.Bury],
            CmdKick = this[Cmd.Kick],
            CmdTouch = this[Cmd.Touch],
            CmdStats = this[Cmd.Stats],
            CmdStatsJob = this[Cmd.StatsJob],
            CmdStatsTube = this[Cmd.StatsTube],
            CmdListTubes = this[Cmd.ListTubes],
            CmdListTubeUsed = this[Cmd.ListTubeUsed],
            CmdListTubesWatched = this[Cmd.ListTubesWatched],
            CmdPauseTube = this[Cmd.PauseTube],
            MaxJobSize = (ulong)maxJobSize,
            CurrentConnections = (uint)Volatile.Read(ref CurrentConnections),
            CurrentProducers = (uint)Volatile.Read(ref CurrentProducers),
            CurrentWorkers = (uint)Volatile.Read(ref CurrentWorkers),
            CurrentWaiting = (ulong)Volatile.Read(ref CurrentWaiting),
            TotalConnections = (uint)Volatile.Read(ref TotalConnections),
            Pid = Environment.ProcessId,
            Version = "1.12-linda",
            RusageUtime = process.UserProcessorTime,
            RusageStime = process.PrivilegedProcessorTime,
            Uptime = (uint)(time.GetUtcNow() - StartedAt).TotalSeconds,
            Draining = Draining,
            Id = Identity,
            Hostname = Environment.MachineName,
            Os = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            Platform = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(),
        };
    }

    private static readonly string Identity = Guid.NewGuid().ToString("N")[..16];
}
