namespace Linda;

/// <summary>The commands a queue counts for its stats (<see cref="JobQueue.QueueStats.Commands"/>).</summary>
internal enum CountedCommand
{
    Push,
    Reserve,
    Complete,
    Release,
    Bury,
    Touch,
    Kick,
    KickJob,
    Delete,
    Peek,
    PeekReady,
    PeekDelayed,
    PeekBuried,
    GetJob,
    Stats,
    Pause,
    Resume,
    ReserveJob,
    Cancel,
}

/// <summary>How many of each command a queue served since it started.</summary>
internal sealed class CommandCounters
{
    // The names in the stats, by command (beanstalkd's words where it has one).
    private static readonly string[] Names =
    [
        "push", "reserve", "complete", "release", "bury", "touch", "kick", "kick-job", "delete",
        "peek", "peek-ready", "peek-delayed", "peek-buried", "get-job", "stats", "pause", "resume",
        "reserve-job", "cancel",
    ];

    private readonly long[] _counts = new long[Names.Length];

    static CommandCounters()
    {
        if (Names.Length != Enum.GetValues<CountedCommand>().Length)
            throw new InvalidOperationException("every counted command needs its name");
    }

    public void Count(CountedCommand command) => _counts[(int)command]++;

    /// <summary>The counts by name.</summary>
    public Dictionary<string, long> ByName()
    {
        var byName = new Dictionary<string, long>(Names.Length);
        for (var i = 0; i < Names.Length; i++)
            byName[Names[i]] = _counts[i];
        return byName;
    }
}
