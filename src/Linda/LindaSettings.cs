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

    /// <summary>Commands a node's queue proxy holds while the queue's singleton starts or moves.</summary>
    public int ProxyBufferSize { get; init; } = 10_000;

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
        var workerNum = w.GetInt("worker-num");
        var retries = q.GetString("default-max-retries");
        int? maxRetries = retries is "unlimited" or "infinite" ? null : int.Parse(retries, System.Globalization.CultureInfo.InvariantCulture);
        if (maxRetries < 0)
            maxRetries = null;
        return new LindaSettings
        {
            Limits = new QueueLimits
            {
                DefaultTimeToRun = Positive(q, "default-time-to-run"),
                DefaultMaxRetries = maxRetries,
                MaxPayloadBytes = q.GetInt("max-payload-bytes"),
                MaxDelay = Positive(q, "max-delay"),
                MaxTimeToRun = Positive(q, "max-time-to-run"),
                MinPeriod = Positive(q, "min-period"),
                MaxTextLength = q.GetInt("max-text-length"),
            },
            SnapshotEvery = q.GetInt("snapshot-every"),
            DeleteEventsOnSnapshot = q.GetBoolean("delete-events-on-snapshot"),
            JournalPluginId = NullIfEmpty(q.GetString("journal-plugin")),
            SnapshotPluginId = NullIfEmpty(q.GetString("snapshot-plugin")),
            RestartBackoff = Positive(q, "restart-backoff"),
            RestartBackoffMax = Positive(q, "restart-backoff-max"),
            ProxyBufferSize = q.GetInt("proxy-buffer-size") is var buffer && buffer is >= 0 and <= 10_000
                ? buffer
                : throw new ConfigurationException($"linda.queue.proxy-buffer-size must be between 0 and 10000, not {q.GetInt("proxy-buffer-size")}"),
            WorkerNum = workerNum > 0 ? workerNum : Environment.ProcessorCount,
            Workers = new Workers.WorkerSettings
            {
                ReserveWait = Positive(w, "reserve-wait", "workers"),
                RetryBackoffMin = Positive(w, "retry-backoff-min", "workers"),
                RetryBackoffMax = Positive(w, "retry-backoff-max", "workers"),
                RetryJitter = w.GetDouble("retry-jitter"),
                ShutdownGrace = w.GetTimeSpan("shutdown-grace"),
                AskTimeout = Positive(w, "ask-timeout", "workers"),
            },
        };
    }

    private static TimeSpan Positive(Config c, string key, string section = "queue")
    {
        var value = c.GetTimeSpan(key);
        return value > TimeSpan.Zero ? value : throw new ConfigurationException($"linda.{section}.{key} must be positive, not {value}");
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    private static Config LoadDefaultConfig()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Linda.linda.conf")
            ?? throw new InvalidOperationException("the embedded linda.conf is missing");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }
}
