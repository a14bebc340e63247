using System.Globalization;
using System.Text;

namespace Linda.Hosting;

/// <summary>
/// How <see cref="LindaHostingExtensions.WithLinda"/> sets Linda up. Every property is optional: an
/// unset one keeps the default of <c>hocon/linda.conf</c> (or the one written here).
/// </summary>
public sealed class LindaOptions
{
    /// <summary>The queues this application uses. <b>Default:</b> one queue, <c>default</c>.</summary>
    public IReadOnlyList<string>? Queues { get; set; }

    /// <summary>Workers per queue on each node that runs workers. <b>Default:</b> one per processor.</summary>
    public int? WorkerNum { get; set; }

    /// <summary>Only nodes with this cluster role run workers. <b>Default:</b> every node.</summary>
    public string? WorkerRole { get; set; }

    /// <summary>Only nodes with this cluster role host queues. <b>Default:</b> every node.</summary>
    public string? QueueRole { get; set; }

    /// <summary>
    /// Where the queues run: <see cref="QueuePlacement.Sharded"/> spreads them over the nodes of
    /// <see cref="QueueRole"/> (Akka.Cluster.Sharding), <see cref="QueuePlacement.Singleton"/> puts each on
    /// the oldest such node (a cluster singleton). The journal is the same for both: a cluster changes
    /// placement by stopping every node and starting them on the new one (the README says which rolling
    /// change is safe). <b>Default:</b> <see cref="QueuePlacement.Sharded"/> (<c>linda.placement</c>).
    /// </summary>
    public QueuePlacement? Placement { get; set; }

    /// <summary>
    /// Partitioned queues: a queue of <see cref="Queues"/> with P partitions here (2 to
    /// <see cref="QueuePartitions.MaxCount"/>) is P queues of its own (<c>QUEUE~0</c> .. <c>QUEUE~P-1</c>),
    /// spread over the nodes like any queues, behind one name: pushes go to a partition by key, own id or
    /// round-robin, workers pull from all of them (their node's first), stats and listings add them up.
    /// Needs <see cref="QueuePlacement.Sharded"/>. Fix P when the queue is made (README "Partitioned
    /// queues"). <b>Default:</b> none (<c>linda.partitions</c>): every queue is one actor.
    /// </summary>
    public IReadOnlyDictionary<string, int>? Partitions { get; set; }

    /// <summary>The SQLite file that holds the queues when no <see cref="ConnectionString"/> is set. <b>Default:</b> <c>linda-data/linda.db</c>.</summary>
    public string? SqlitePath { get; set; }

    /// <summary>A database connection string (with <see cref="ProviderName"/>) instead of the SQLite file.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The linq2db provider name for <see cref="ConnectionString"/>, e.g. <c>PostgreSQL.15</c>.</summary>
    public string? ProviderName { get; set; }

    /// <summary>
    /// Failure detector, split-brain resolver, singleton and sharding settings for how fast a crashed
    /// node's queues move to another node: <see cref="Linda.FailoverProfile.Production"/> (recommended) or
    /// <see cref="Linda.FailoverProfile.Fast"/>. <b>Default:</b> Akka's settings, untouched.
    /// </summary>
    public FailoverProfile? FailoverProfile { get; set; }

    /// <summary>
    /// TLS between this cluster's nodes, both ends verified (<see cref="LindaTlsOptions"/>); the seed
    /// nodes' addresses are then <c>akka.ssl.tcp://linda@HOST:PORT</c>. <b>Default:</b> none: remoting is
    /// plain TCP, and anyone who reaches a node's remoting port can join the cluster.
    /// </summary>
    public LindaTlsOptions? Tls { get; set; }

    /// <summary>Time-to-run of jobs pushed without one. <b>Default:</b> 60 s.</summary>
    public TimeSpan? DefaultTimeToRun { get; set; }

    /// <summary>Retries of jobs pushed without a count; negative for no limit. <b>Default:</b> 10.</summary>
    public int? DefaultMaxRetries { get; set; }

    /// <summary>Backoff before the first retry. <b>Default:</b> 1 s.</summary>
    public TimeSpan? RetryBackoffMin { get; set; }

    /// <summary>Longest backoff between retries. <b>Default:</b> 10 min.</summary>
    public TimeSpan? RetryBackoffMax { get; set; }

    /// <summary>How long running jobs may finish at shutdown before they are released. <b>Default:</b> 10 s.</summary>
    public TimeSpan? ShutdownGrace { get; set; }

    internal IReadOnlyList<string> QueueNames => Queues is { Count: > 0 } q ? q : ["default"];

    internal string DatabasePath => SqlitePath ?? Path.Combine("linda-data", "linda.db");

    /// <summary>The HOCON lines for the properties that are set.</summary>
    public string ToHocon()
    {
        var sb = new StringBuilder();
        if (Placement is { } placement)
            sb.AppendLine($"linda.placement = {(placement == QueuePlacement.Sharded ? "sharded" : "singleton")}");
        if (Partitions is { Count: > 0 } partitions)
        {
            foreach (var (queue, count) in partitions)
                sb.AppendLine($"linda.partitions.\"{queue}\" = {count.ToString(CultureInfo.InvariantCulture)}");
        }
        if (DefaultTimeToRun is { } ttr)
            sb.AppendLine($"linda.queue.default-time-to-run = {Ms(ttr)}");
        if (DefaultMaxRetries is { } retries)
            sb.AppendLine($"linda.queue.default-max-retries = {retries.ToString(CultureInfo.InvariantCulture)}");
        if (WorkerNum is { } n)
            sb.AppendLine($"linda.workers.worker-num = {n.ToString(CultureInfo.InvariantCulture)}");
        if (RetryBackoffMin is { } min)
            sb.AppendLine($"linda.workers.retry-backoff-min = {Ms(min)}");
        if (RetryBackoffMax is { } max)
            sb.AppendLine($"linda.workers.retry-backoff-max = {Ms(max)}");
        if (ShutdownGrace is { } grace)
            sb.AppendLine($"linda.workers.shutdown-grace = {Ms(grace)}");
        return sb.ToString();
    }

    /// <summary>Checks the options: a clear message for each problem.</summary>
    /// <exception cref="ArgumentException">An option is not valid.</exception>
    public void Validate()
    {
        foreach (var q in QueueNames)
        {
            if (Names.Check(q, "queue name") is { } error)
                throw new ArgumentException(error, nameof(Queues));
        }
        if (QueueNames.Distinct().Count() != QueueNames.Count)
            throw new ArgumentException("a queue is named twice", nameof(Queues));
        if (Partitions is { } partitioned)
        {
            foreach (var (queue, count) in partitioned)
            {
                if (!QueueNames.Contains(queue))
                    throw new ArgumentException($"Partitions names queue '{queue}', which is not one of Queues ({string.Join(", ", QueueNames)})", nameof(Partitions));
                if (count is < 1 or > QueuePartitions.MaxCount)
                    throw new ArgumentException($"queue '{queue}' can have 1 to {QueuePartitions.MaxCount} partitions, not {count}", nameof(Partitions));
            }
            if (Placement == QueuePlacement.Singleton && partitioned.Values.Any(c => c > 1))
                throw new ArgumentException("partitioned queues need the sharded placement (Placement = Sharded)", nameof(Partitions));
        }
        if (WorkerNum is < 0)
            throw new ArgumentException($"WorkerNum must not be negative, not {WorkerNum}", nameof(WorkerNum));
        if ((ConnectionString is null) != (ProviderName is null))
            throw new ArgumentException("ConnectionString and ProviderName go together", nameof(ConnectionString));
    }

    private static string Ms(TimeSpan t) => $"{(long)t.TotalMilliseconds}ms";
}
