using System.Reflection;
using Akka.Actor;
using Akka.Configuration;

namespace Linda;

/// <summary>
/// Linda's settings, read from the <c>linda</c> section of the ActorSystem's config with
/// <c>hocon/linda.conf</c> (embedded in this assembly) as the fallback.
/// </summary>
public sealed record LindaSettings
{
    /// <summary>What queues accept and the defaults they fill in.</summary>
    public QueueLimits Limits { get; init; } = QueueLimits.Default;

    /// <summary>Events between snapshots (at least as many as the queue holds jobs); 0 turns snapshots off.</summary>
    public int SnapshotEvery { get; init; } = 10_000;

    /// <summary>
    /// True: no journal row is written while a snapshot is being saved (events collect in the open
    /// batch meanwhile), so the snapshot store never competes with the journal for SQLite's write lock.
    /// <b>Default:</b> true (<c>linda.queue.snapshot-pauses-writes</c>).
    /// </summary>
    public bool SnapshotPausesWrites { get; init; } = true;

    /// <summary>
    /// The largest journal row a queue writes, in (estimated) bytes of its events: events applied while
    /// a write is in flight all go into the next write as one row, up to this size; the rest into the
    /// write after it. <b>Default:</b> 1 MiB.
    /// </summary>
    public int MaxWriteBytes { get; init; } = 1024 * 1024;

    /// <summary>Delete the events and older snapshots a new snapshot makes redundant.</summary>
    public bool DeleteEventsOnSnapshot { get; init; } = true;

    /// <summary>Journal plugin id for queue actors; <c>null</c> for the default journal.</summary>
    public string? JournalPluginId { get; init; }

    /// <summary>Snapshot-store plugin id for queue actors; <c>null</c> for the default store.</summary>
    public string? SnapshotPluginId { get; init; }

    /// <summary>First back-off before a queue actor that stopped on a journal failure starts again.</summary>
    public TimeSpan RestartBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest back-off between restarts.</summary>
    public TimeSpan RestartBackoffMax { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>When a <c>Reserved</c> reply goes out relative to its lease's event; see <see cref="Linda.LeaseReply"/>.</summary>
    public LeaseReply LeaseReply { get; init; } = LeaseReply.Auto;

    /// <summary>
    /// True: verdicts and deletes are answered once applied, before their event is written
    /// (<c>linda.queue.verdict-reply = early</c>); a crash may lose one, and its job runs again.
    /// <b>Default:</b> false (answered once written).
    /// </summary>
    public bool EarlyVerdicts { get; init; }

    /// <summary>
    /// True: each queue tells its node's EventStream of every job that ends (<see cref="JobQueue.JobEnded"/>:
    /// completed or buried), once that is written; at most once (a crash between the write and the
    /// telling loses it). <b>Default:</b> false (<c>linda.queue.outcome-events = off</c>): nothing is paid.
    /// </summary>
    public bool OutcomeEvents { get; init; }

    /// <summary>Where queue actors run in the cluster (<c>linda.placement</c>). <b>Default:</b> <see cref="QueuePlacement.Sharded"/>.</summary>
    public QueuePlacement Placement { get; init; } = QueuePlacement.Sharded;

    /// <summary>
    /// The partitioned queues and their partition counts (<c>linda.partitions</c>, every count 2 to
    /// <see cref="QueuePartitions.MaxCount"/>); a queue not listed has one partition, itself. <b>Default:</b> none.
    /// </summary>
    public IReadOnlyDictionary<string, int> Partitions { get; init; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary>How many partitions <paramref name="queue"/> has (1: it is not partitioned).</summary>
    public int PartitionsOf(string queue) => Partitions.TryGetValue(queue, out var p) ? p : 1;

    /// <summary>Commands a node's queue proxy holds while the queue's singleton starts or moves (<see cref="QueuePlacement.Singleton"/>).</summary>
    public int ProxyBufferSize { get; init; } = 10_000;

    /// <summary>How senders ask a queue again while it moves (<c>linda.delivery</c>).</summary>
    public AskAgain AskAgain { get; init; } = AskAgain.Default;

    /// <summary>How workers run jobs.</summary>
    public Workers.WorkerSettings Workers { get; init; } = Linda.Workers.WorkerSettings.Default;

    /// <summary>Workers per queue on a node; <b>Default:</b> one per processor.</summary>
    public int WorkerNum { get; init; } = Environment.ProcessorCount;

    /// <summary>For tests: queue actors recover from their events alone, ignoring snapshots.</summary>
    internal bool IgnoreSnapshots { get; init; }

    /// <summary>The reference configuration, <c>hocon/linda.conf</c>.</summary>
    public static Config DefaultConfig { get; } = LoadDefaultConfig();

    /// <summary>Reads the settings from <paramref name="system"/>'s config.</summary>
    public static LindaSettings Create(ActorSystem system) => Create(system.Settings.Config);

    /// <summary>Reads the settings from <paramref name="config"/> (with the reference config as fallback).</summary>
    public static LindaSettings Create(Config config)
    {
        var all = config.WithFallback(DefaultConfig);
        var q = all.GetConfig("linda.queue");
        var w = all.GetConfig("linda.workers");
        var d = all.GetConfig("linda.delivery");
        var workerNum = w.GetInt("worker-num");
        var retries = q.GetString("default-max-retries");
        int? maxRetries = retries is "unlimited" or "infinite" ? null : int.Parse(retries, System.Globalization.CultureInfo.InvariantCulture);
        if (maxRetries < 0)
            maxRetries = null;
        var askAgain = new AskAgain
        {
            FirstPause = Positive(d, "ask-again-first-pause", "delivery"),
            MaxPause = Positive(d, "ask-again-max-pause", "delivery"),
            GiveUpAfter = Positive(d, "ask-again-for", "delivery"),
        };
        return new LindaSettings
        {
            Placement = all.GetString("linda.placement") switch
            {
                "sharded" => QueuePlacement.Sharded,
                "singleton" => QueuePlacement.Singleton,
                var other => throw new ConfigurationException($"linda.placement must be sharded or singleton, not '{other}'"),
            },
            Partitions = ReadPartitions(all),
            Limits = new QueueLimits
            {
                DefaultTimeToRun = Positive(q, "default-time-to-run"),
                DefaultMaxRetries = maxRetries,
                MaxPayloadBytes = q.GetInt("max-payload-bytes"),
                MaxDelay = Positive(q, "max-delay"),
                MaxTimeToRun = Positive(q, "max-time-to-run"),
                MinPeriod = Positive(q, "min-period"),
                MaxTextLength = q.GetInt("max-text-length"),
                ScheduleGrace = Positive(q, "schedule-grace"),
                DefaultTimeout = q.GetString("default-timeout", "off") is "off" or "" ? null : Positive(q, "default-timeout"),
                MaxReservesPerPeriod = q.GetInt("rate-limit", 0) is var rate && rate >= 0
                    ? rate
                    : throw new ConfigurationException($"linda.queue.rate-limit can't be negative, not {rate}"),
                RatePeriod = q.HasPath("rate-period") ? Positive(q, "rate-period") : TimeSpan.FromSeconds(1),
                MaxConcurrentPerKey = q.GetInt("max-concurrent-per-key", 0) is var perKey && perKey >= 0
                    ? perKey
                    : throw new ConfigurationException($"linda.queue.max-concurrent-per-key can't be negative, not {perKey}"),
                ConcurrencyOverrides = q.HasPath("concurrency-overrides") && q.GetConfig("concurrency-overrides") is { IsEmpty: false } overrides
                    ? overrides.AsEnumerable().ToDictionary(kv => kv.Key.Trim('"'), kv => kv.Value.GetInt(), StringComparer.Ordinal)
                    : null,
                MaxMisfireRuns = q.GetInt("max-misfire-runs") is var runs && runs >= 1
                    ? runs
                    : throw new ConfigurationException($"linda.queue.max-misfire-runs must be at least 1, not {runs}"),
                MaxSchedules = q.GetInt("max-schedules") is var schedules && schedules >= 0
                    ? schedules
                    : throw new ConfigurationException($"linda.queue.max-schedules can't be negative, not {schedules}"),
            },
            SnapshotEvery = q.GetInt("snapshot-every"),
            SnapshotPausesWrites = q.GetBoolean("snapshot-pauses-writes", true),
            MaxWriteBytes = q.GetByteSize("max-write-bytes") is var bytes && bytes is >= 1024 and <= int.MaxValue
                ? (int)bytes
                : throw new ConfigurationException($"linda.queue.max-write-bytes must be between 1 KiB and 2 GiB, not {bytes}"),
            DeleteEventsOnSnapshot = q.GetBoolean("delete-events-on-snapshot"),
            JournalPluginId = NullIfEmpty(q.GetString("journal-plugin")),
            SnapshotPluginId = NullIfEmpty(q.GetString("snapshot-plugin")),
            RestartBackoff = Positive(q, "restart-backoff"),
            RestartBackoffMax = Positive(q, "restart-backoff-max"),
            LeaseReply = q.GetString("lease-reply") switch
            {
                "auto" => LeaseReply.Auto,
                "durable" => LeaseReply.Durable,
                "early" => LeaseReply.Early,
                var other => throw new ConfigurationException($"linda.queue.lease-reply must be auto, durable or early, not '{other}'"),
            },
            EarlyVerdicts = q.GetString("verdict-reply", "durable") switch
            {
                "durable" => false,
                "early" => true,
                var other => throw new ConfigurationException($"linda.queue.verdict-reply must be durable or early, not '{other}'"),
            },
            OutcomeEvents = q.GetBoolean("outcome-events", false),
            ProxyBufferSize = q.GetInt("proxy-buffer-size") is var buffer && buffer is >= 0 and <= 10_000
                ? buffer
                : throw new ConfigurationException($"linda.queue.proxy-buffer-size must be between 0 and 10000, not {q.GetInt("proxy-buffer-size")}"),
            WorkerNum = workerNum > 0 ? workerNum : Environment.ProcessorCount,
            AskAgain = askAgain,
            Workers = new Workers.WorkerSettings
            {
                ReserveWait = Positive(w, "reserve-wait", "workers"),
                PartitionPoll = Positive(w, "partition-poll", "workers"),
                RetryBackoffMin = Positive(w, "retry-backoff-min", "workers"),
                RetryBackoffMax = Positive(w, "retry-backoff-max", "workers"),
                RetryJitter = w.GetDouble("retry-jitter"),
                ShutdownGrace = w.GetTimeSpan("shutdown-grace"),
                AskTimeout = Positive(w, "ask-timeout", "workers"),
                MaxErrorLength = q.GetInt("max-text-length"),
                AskAgain = askAgain,
            },
        };
    }

    private static Dictionary<string, int> ReadPartitions(Config all)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!all.HasPath("linda.partitions") || all.GetConfig("linda.partitions") is not { IsEmpty: false } section)
            return result;
        foreach (var (key, value) in section.AsEnumerable())
        {
            var queue = key.Trim('"');
            if (Names.Check(queue, "queue name") is { } invalid)
                throw new ConfigurationException($"linda.partitions: {invalid}");
            var count = value.GetInt();
            if (count is < 1 or > QueuePartitions.MaxCount)
                throw new ConfigurationException($"linda.partitions.{queue} must be 1 to {QueuePartitions.MaxCount}, not {count}");
            if (count > 1)
                result[queue] = count;
        }
        return result;
    }

    private static TimeSpan Positive(Config c, string key, string section = "queue")
    {
        var value = c.GetTimeSpan(key);
        return value > TimeSpan.Zero ? value : throw new ConfigurationException($"linda.{section}.{key} must be positive, not {value}");
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    /// <summary>
    /// The cluster settings of a failover profile (<c>hocon/failover-fast.conf</c>,
    /// <c>hocon/failover-production.conf</c>); empty for <see cref="Linda.FailoverProfile.AkkaDefaults"/>.
    /// </summary>
    public static Config FailoverProfile(FailoverProfile profile) => profile switch
    {
        Linda.FailoverProfile.AkkaDefaults => Config.Empty,
        Linda.FailoverProfile.Production => LoadEmbedded("failover-production.conf"),
        Linda.FailoverProfile.Fast => LoadEmbedded("failover-fast.conf"),
        _ => throw new ArgumentOutOfRangeException(nameof(profile), profile, "unknown failover profile"),
    };

    private static Config LoadDefaultConfig() => LoadEmbedded("linda.conf");

    private static Config LoadEmbedded(string file)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Linda." + file)
            ?? throw new InvalidOperationException($"the embedded {file} is missing");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }
}

/// <summary>When the queue sends a <c>Reserved</c> reply, relative to writing the lease (<c>JobReserved</c>).</summary>
public enum LeaseReply
{
    /// <summary>Early to holders on the queue's own node (their leases die with it anyway), durable to the others.</summary>
    Auto,

    /// <summary>Once the lease is in the journal: a failover never forgets a lease.</summary>
    Durable,

    /// <summary>
    /// Once the job's earlier events are in the journal, without waiting for the lease's own: the
    /// holder runs the job while the lease is written. If the queue's node crashes in between, the
    /// lease is forgotten and the job runs again.
    /// </summary>
    Early,
}

/// <summary>
/// Where a cluster runs its queue actors (<c>linda.placement</c>). A cluster-wide choice: change it
/// by stopping every node and starting them on the new one (the journal is the same); see the
/// README's "Running a cluster" for the one rolling change that is safe.
/// </summary>
public enum QueuePlacement
{
    /// <summary>
    /// Each queue is an entity of Akka.Cluster.Sharding on the nodes of the queue role (entity id: the
    /// queue's name): the queues spread over those nodes, a node that joins takes some over, one that
    /// leaves hands its queues over, a crashed node's queues start again on the others (remembered
    /// entities, so a queue with only delayed jobs or schedules wakes up by itself).
    /// </summary>
    Sharded,

    /// <summary>Each queue is a cluster singleton on the oldest node of the queue role (Linda's placement before sharding).</summary>
    Singleton,
}

/// <summary>
/// How fast a cluster notices a crashed node, downs it and moves its queue singletons elsewhere
/// (Akka's failure detector, split-brain resolver and singleton settings).
/// </summary>
public enum FailoverProfile
{
    /// <summary>Leave Akka's settings as they are (about 47 s from a crash to the queue serving again on this machine).</summary>
    AkkaDefaults,

    /// <summary><c>hocon/failover-production.conf</c>: tolerant of pauses and a loaded network; the recommended profile.</summary>
    Production,

    /// <summary><c>hocon/failover-fast.conf</c>: a crash is handled within about 5 s; for one LAN or one host, and tests.</summary>
    Fast,
}
