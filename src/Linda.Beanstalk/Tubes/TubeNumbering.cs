namespace Linda.Beanstalk;

/// <summary>
/// The tube directory's contents: each tube name's number (the high bits of its jobs' wire ids, see
/// <see cref="WireIds"/>), handed out in order from 0 and never taken back or changed. What a directory
/// (<see cref="TubeHub"/>, <see cref="TubeDirectory"/>) recovers from its <see cref="BeanstalkProtocol.TubeNumbered"/>
/// events, and what a node's <see cref="ShardedTubes"/> keeps of it: an entry, once known, holds for good,
/// so a copy of some entries is never out of date, only incomplete.
/// </summary>
internal sealed class TubeNumbering
{
    private readonly Dictionary<string, long> _numbers = new(StringComparer.Ordinal);
    private readonly SortedDictionary<long, string> _names = [];

    /// <summary>How many tubes are numbered (in a directory: the next number).</summary>
    public int Count => _names.Count;

    /// <summary>The number of tube <paramref name="name"/>, if numbered.</summary>
    public bool TryNumber(string name, out long number) => _numbers.TryGetValue(name, out number);

    /// <summary>The name of tube number <paramref name="number"/>, if numbered.</summary>
    public bool TryName(long number, out string name) => _names.TryGetValue(number, out name!);

    /// <summary>Every entry, by number.</summary>
    public IEnumerable<BeanstalkProtocol.TubeNumbered> All => _names.Select(kv => new BeanstalkProtocol.TubeNumbered(kv.Value, kv.Key));

    /// <summary>
    /// What numbering a new tube <paramref name="name"/> comes to in a directory: its event (the next
    /// number, to be persisted and then applied), or a <see cref="BeanstalkProtocol.TubeRefused"/> (a bad name, or no numbers left).
    /// </summary>
    public BeanstalkProtocol.IBeanstalkMessage Number(string name)
    {
        if (Names.Check(name, "tube name") is { } invalid)
            return new BeanstalkProtocol.TubeRefused(invalid);
        var number = (long)Count; // numbers are handed out in order from 0 and never taken back
        return number >= WireIds.MaxTubes
            ? new BeanstalkProtocol.TubeRefused("no tube numbers left")
            : new BeanstalkProtocol.TubeNumbered(name, number);
    }

    /// <summary>Records an entry (again: no change).</summary>
    public void Apply(BeanstalkProtocol.TubeNumbered e)
    {
        _numbers[e.Name] = e.Number;
        _names[e.Number] = e.Name;
    }
}
