using System.Globalization;

namespace Linda;

/// <summary>
/// How a partitioned queue is cut: its P partitions are queues of their own (each its own actor and
/// persistence id), named <c>QUEUE~i</c> for i in 0..P-1 (<c>~</c> is no name character, so no
/// application queue can take a partition's name). A job the queue names gets the id <c>p{i}.{seq}</c>,
/// naming its partition; a job with an id of its own lives where its key or its id hashes to. Pure: no
/// actors, every router, worker and test agrees on the same answers.
/// </summary>
public static class QueuePartitions
{
    /// <summary>Between a queue's name and a partition's index.</summary>
    public const char Separator = '~';

    /// <summary>The most partitions a queue may have.</summary>
    public const int MaxCount = 256;

    /// <summary>The name of partition <paramref name="index"/> of <paramref name="queue"/>.</summary>
    public static string NameOf(string queue, int index) => queue + Separator + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// True when <paramref name="name"/> is a partition's name (<c>QUEUE~i</c>, i in its one spelling:
    /// digits with no leading zero), with the queue and the index.
    /// </summary>
    public static bool TryParse(string name, out string queue, out int index)
    {
        queue = "";
        index = -1;
        var at = name.LastIndexOf(Separator);
        if (at <= 0 || at == name.Length - 1)
            return false;
        var digits = name.AsSpan(at + 1);
        if (!IsNumber(digits) || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out index) || index >= MaxCount)
        {
            index = -1;
            return false;
        }
        queue = name[..at];
        return true;
    }

    /// <summary>
    /// Why <paramref name="name"/> is not a valid queue or partition name (see <see cref="Names"/>), or
    /// <c>null</c> when it is one.
    /// </summary>
    public static string? CheckQueueName(string? name, string what = "queue name") =>
        name is not null && TryParse(name, out var queue, out _) ? Names.Check(queue, what) : Names.Check(name, what);

    /// <summary>The start of the ids that partition <paramref name="index"/> gives the jobs it names: <c>p{index}.</c></summary>
    public static string IdPrefix(int index) => "p" + index.ToString(CultureInfo.InvariantCulture) + ".";

    /// <summary>
    /// The partition a job id names: <c>p{i}.{seq}</c> (i below <paramref name="count"/>, both numbers in
    /// their one spelling) names partition i; any other id lives where it hashes to (<see cref="OfKey"/>).
    /// </summary>
    public static int OfId(string id, int count) => NamedBy(id, count) ?? OfKey(id, count);

    /// <summary>The partition a generated id (<c>p{i}.{seq}</c>) names, or null for any other id.</summary>
    public static int? NamedBy(string id, int count)
    {
        if (id.Length < 4 || id[0] != 'p')
            return null;
        var dot = id.IndexOf('.', 1);
        if (dot < 2 || dot == id.Length - 1 || !IsNumber(id.AsSpan(1, dot - 1)) || !IsNumber(id.AsSpan(dot + 1)))
            return null;
        return int.TryParse(id.AsSpan(1, dot - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < count ? i : null;
    }

    /// <summary>
    /// The partition of a key: FNV-1a over its characters, modulo <paramref name="count"/>. Stable across
    /// processes and versions (never <see cref="string.GetHashCode()"/>): every node places a key alike.
    /// </summary>
    public static int OfKey(string key, int count)
    {
        var hash = 2166136261u;
        foreach (var c in key)
        {
            hash = (hash ^ (byte)c) * 16777619u;
            hash = (hash ^ (byte)(c >> 8)) * 16777619u;
        }
        return (int)(hash % (uint)count);
    }

    /// <summary>
    /// Where a push goes: by its key when it has one (its concurrency key, else its unique key), so a
    /// key's jobs share one partition (their order, limits and uniqueness hold); else by its own id
    /// (<see cref="OfId"/>); else <paramref name="roundRobin"/>, the caller's turn, modulo <paramref name="count"/>.
    /// </summary>
    public static int OfPush(JobQueue.Push push, int count, long roundRobin)
    {
        if ((push.ConcurrencyKey ?? push.UniqueKey) is { } key)
            return OfKey(key, count);
        if (push.Id is { } id)
            return OfId(id, count);
        return (int)((ulong)roundRobin % (ulong)count);
    }

    /// <summary>
    /// What is wrong with the jobs a queue or partition named <paramref name="name"/> recovered, when
    /// its queue's partition count is now <paramref name="count"/> (<c>linda.partitions</c>): a partition
    /// beyond the count, or a queue of one actor that is now partitioned, holds jobs that no router sends
    /// to and no worker pulls from; a partition holds a job whose key belongs in another partition (the
    /// count changed since it was pushed). Null when nothing is. The count is fixed when the queue is made.
    /// </summary>
    public static string? CheckRecovered(string name, int count, int jobCount, IEnumerable<Job> jobs)
    {
        if (!TryParse(name, out var queue, out var index))
        {
            return count > 1 && jobCount > 0
                ? $"queue '{name}' holds {jobCount} jobs from before it had partitions, and linda.partitions gives it {count}: no router sends to it and no worker pulls from it. A queue's partition count is fixed when it is made: remove it from linda.partitions until these jobs are done"
                : null;
        }
        if (index >= count)
        {
            return jobCount > 0
                ? $"partition '{name}' holds {jobCount} jobs, but linda.partitions gives queue '{queue}' {count} partition(s): no router sends to it and no worker pulls from it. A queue's partition count is fixed when it is made: set it back"
                : null;
        }
        foreach (var job in jobs)
        {
            if ((job.ConcurrencyKey ?? job.UniqueKey) is { } key && OfKey(key, count) is var home && home != index)
                return $"partition '{name}' holds job '{job.Id}' whose key '{key}' belongs in partition {home} of {count}: linda.partitions.{queue} changed since it was pushed, so that key's jobs are in two partitions (their order, limit and uniqueness no longer hold). A queue's partition count is fixed when it is made: set it back";
        }
        return null;
    }

    private static bool IsNumber(ReadOnlySpan<char> s) =>
        s.Length is > 0 and <= 18 && s.IndexOfAnyExceptInRange('0', '9') < 0 && (s[0] != '0' || s.Length == 1);
}
