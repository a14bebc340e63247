using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Linda.Hosting;
using StackExchange.Redis;
using static Linda.JobQueue;

namespace Linda.Redis;

/// <summary>What the Redis bridge reads, from where, and how often.</summary>
public sealed class RedisBridgeOptions
{
    /// <summary>The Redis server: <c>redis://host:port/</c> (the Go Linda's form), <c>host:port</c>, or a StackExchange.Redis configuration string.</summary>
    public string Redis { get; set; } = "redis://127.0.0.1:6379/";

    /// <summary>The queues to take (<c>queue:&lt;q&gt;</c> into the Linda queue <c>&lt;q&gt;</c>). <b>Default:</b> null: every <c>queue:*</c> found that Linda has.</summary>
    public IReadOnlyList<string>? Queues { get; set; }

    /// <summary>How long the bridge waits when a round found nothing to move. <b>Default:</b> 200 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often the keys are scanned for new queues (when <see cref="Queues"/> is null). <b>Default:</b> 5 s.</summary>
    public TimeSpan ScanInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a moved job's id stays known to Linda after the job ended, so a move finished again (by
    /// a bridge that restarted) is recognized and not run twice. <b>Default:</b> 1 day.
    /// </summary>
    public TimeSpan DedupFor { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The most jobs one round takes out of one queue. <b>Default:</b> 100.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>The StackExchange.Redis configuration of <see cref="Redis"/>.</summary>
    internal string Configuration =>
        Uri.TryCreate(Redis, UriKind.Absolute, out var uri) && uri.Scheme is "redis"
            ? $"{uri.Host}:{(uri.Port > 0 ? uri.Port : 6379)}" + (uri.AbsolutePath.Trim('/') is { Length: > 0 } db ? $",defaultDatabase={db}" : "")
            : Redis;
}

/// <summary>
/// Moves jobs from the Go Linda's Redis layout into Linda's queues. Per queue <c>q</c>, each round a
/// Lua script takes up to a batch of ids atomically out of the ready list <c>queue:q</c> (LPOP) and
/// the delayed set <c>queue:q:delayed</c> (with their due times) into the moving hash
/// <c>linda:bridge:moving:q</c> (id → due time, 0 for ready); each moving job is read from
/// <c>linda:job:&lt;id&gt;:info</c>, pushed into Linda with the same id, class, args, period and
/// retries (a delayed one at once, with its due time as its delay: it is durable in Linda sooner and
/// Linda's timer runs it on time), and removed from the moving hash only once Linda answered
/// <see cref="Pushed"/> or <see cref="AlreadyExists"/> (the job's unique key, <see cref="DedupKey"/>, makes
/// the move idempotent, also after the job has run and ended, for <see cref="RedisBridgeOptions.DedupFor"/>). A bridge that
/// dies in between leaves the job in the moving hash; the next bridge finishes the move first. A job
/// whose record is missing or can't be read, or that Linda refuses, is taken out with its reason in
/// <c>linda:bridge:error:&lt;id&gt;</c>. Jobs in <c>queue:q:reserved</c> belong to running Go workers
/// and are left alone (the Go broker moves them back to ready when they expire; they are taken then).
/// </summary>
public sealed class RedisBridge : IAsyncDisposable
{
    // Takes up to ARGV[1] ids from the ready list and ARGV[1] from the delayed set (with their scores)
    // into the moving hash, in one step: a crash leaves every id in exactly one of the three.
    private const string TakeScript = """
        local moved = {}
        for i = 1, tonumber(ARGV[1]) do
          local id = redis.call('LPOP', KEYS[1])
          if not id then break end
          redis.call('HSET', KEYS[3], id, '0')
          table.insert(moved, id)
        end
        local due = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
        for i = 1, #due, 2 do
          redis.call('ZREM', KEYS[2], due[i])
          redis.call('HSET', KEYS[3], due[i], due[i + 1])
          table.insert(moved, due[i])
        end
        return #moved
        """;

    private readonly RedisBridgeOptions _options;
    private readonly ILindaClient _linda;
    private readonly ILoggingAdapter _log;
    private readonly CancellationTokenSource _stop = new();
    private ConnectionMultiplexer? _redis;
    private Task? _loop;
    private long _moved;
    private long _failed;

    /// <summary>A bridge that pushes through <paramref name="linda"/>; <see cref="StartAsync"/> starts it.</summary>
    public RedisBridge(RedisBridgeOptions options, ILindaClient linda, ILoggingAdapter log)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1);
        _options = options;
        _linda = linda;
        _log = log;
    }

    /// <summary>Jobs moved into Linda since the bridge started.</summary>
    public long Moved => Interlocked.Read(ref _moved);

    /// <summary>Jobs taken out with an error key (a missing or unreadable record, a refusal).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>
    /// Connects and starts moving in the background. A Redis that is down does not stop the start: the
    /// connection keeps trying, and the bridge moves once Redis answers (as after a restart of Redis).
    /// </summary>
    public async Task StartAsync()
    {
        var configuration = ConfigurationOptions.Parse(_options.Configuration);
        configuration.AbortOnConnectFail = false;
        _redis = await ConnectionMultiplexer.ConnectAsync(configuration);
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var db = _redis!.GetDatabase();
        IReadOnlyList<string> queues = [];
        var scannedAt = DateTime.MinValue;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (DateTime.UtcNow - scannedAt >= _options.ScanInterval || queues.Count == 0)
                {
                    queues = Queues();
                    scannedAt = DateTime.UtcNow;
                }
                var moved = 0;
                foreach (var queue in queues)
                    moved += await MoveAsync(db, queue, stop);
                if (moved == 0)
                    await Task.Delay(_options.PollInterval, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException or AskTimeoutException)
            {
                // Redis or the queue is away (restarting, moving): what was taken waits in the moving hash.
                _log.Warning("redis bridge: {0}; trying again", e.Message);
                await Task.Delay(_options.PollInterval, stop).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>The queues to take: the named ones, or every <c>queue:q</c> (or half-done moving hash) that Linda has a queue for.</summary>
    private IReadOnlyList<string> Queues()
    {
        var linda = _linda.Queues.ToHashSet(StringComparer.Ordinal);
        if (_options.Queues is { } named)
            return named.Where(linda.Contains).ToArray();
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in _redis!.GetEndPoints())
        {
            // A dead bridge's half-done moves count too: their queue may have no list left.
            foreach (var key in _redis.GetServer(endpoint).Keys(pattern: "linda:bridge:moving:*", pageSize: 500))
            {
                var name = ((string)key!)["linda:bridge:moving:".Length..];
                if (linda.Contains(name))
                    found.Add(name);
            }
            foreach (var key in _redis.GetServer(endpoint).Keys(pattern: "queue:*", pageSize: 500))
            {
                var name = ((string)key!)["queue:".Length..];
                if (name.EndsWith(":delayed", StringComparison.Ordinal))
                    name = name[..^":delayed".Length];
                if (name.EndsWith(":reserved", StringComparison.Ordinal))
                    continue;
                if (linda.Contains(name))
                    found.Add(name);
                else if (name.Length > 0 && !name.Contains(':'))
                    _log.Debug("redis bridge: queue:{0} has no Linda queue of that name; left in Redis", name);
            }
        }
        return found.Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>One round for one queue: finish what is moving (a dead bridge's too), take a batch, move it.</summary>
    private async Task<int> MoveAsync(IDatabase db, string queue, CancellationToken stop)
    {
        var moving = (RedisKey)("linda:bridge:moving:" + queue);
        var done = await FinishAsync(db, queue, moving, stop);
        var taken = (int)await db.ScriptEvaluateAsync(TakeScript,
            [(RedisKey)("queue:" + queue), (RedisKey)("queue:" + queue + ":delayed"), moving], [_options.BatchSize]);
        if (taken > 0)
            done += await FinishAsync(db, queue, moving, stop);
        return done;
    }

    private async Task<int> FinishAsync(IDatabase db, string queue, RedisKey moving, CancellationToken stop)
    {
        var entries = await db.HashGetAllAsync(moving);
        var done = 0;
        foreach (var entry in entries)
        {
            stop.ThrowIfCancellationRequested();
            string id = entry.Name!;
            var dueSeconds = double.TryParse((string?)entry.Value, System.Globalization.CultureInfo.InvariantCulture, out var d) ? d : 0;
            var (push, error) = await ReadAsync(db, queue, id, dueSeconds);
            if (push is not null)
                push = push with { UniqueKey = DedupKey(queue, id), UniqueFor = _options.DedupFor };
            if (push is not null)
            {
                var reply = await _linda.PushAsync(push, stop);
                switch (reply)
                {
                    case Pushed or AlreadyExists:
                        Interlocked.Increment(ref _moved);
                        break;
                    case Unavailable or WriteFailed:
                        continue; // stays in the moving hash: the next round tries again
                    default:
                        error = $"Linda refused the job: {((IFailure)reply).Message}";
                        break;
                }
            }
            if (error is not null)
            {
                await db.StringSetAsync("linda:bridge:error:" + id, error);
                Interlocked.Increment(ref _failed);
                _log.Warning("redis bridge: job {0} of queue:{1} not moved: {2} (in linda:bridge:error:{0})", id, queue, error);
            }
            await db.HashDeleteAsync(moving, id);
            done++;
        }
        return done;
    }

    /// <summary>
    /// The unique key a moved job carries in Linda: while the job is in the queue, and for
    /// <see cref="RedisBridgeOptions.DedupFor"/> after it ended, a second move of the same id is answered
    /// <see cref="AlreadyExists"/> (so a move finished again after a crash never runs the job twice).
    /// </summary>
    public static string DedupKey(string queue, string id) => $"redis:{queue}:{id}";

    /// <summary>
    /// The Linda id of a Go job: the same, but an id of digits only (the Go example's <c>"1"</c>) is
    /// <c>go-&lt;id&gt;</c>, as Linda keeps digit-only ids for the ids it makes itself (push order numbers).
    /// </summary>
    public static string LindaId(string goId) => Names.IsDigits(goId) ? "go-" + goId : goId;

    /// <summary>The Linda push for a Go job record, or why there is none.</summary>
    private static async Task<(Push? Push, string? Error)> ReadAsync(IDatabase db, string queue, string id, double dueSeconds)
    {
        var json = await db.StringGetAsync("linda:job:" + id + ":info");
        if (json.IsNullOrEmpty)
            return (null, $"no record linda:job:{id}:info");
        try
        {
            var record = JsonSerializer.Deserialize<GoJob>((string)json!) ?? throw new JsonException("the record is null");
            if (record.Payload?.Class is not { Length: > 0 } cls)
                return (null, "the record has no payload class");
            var args = record.Payload.Args is { ValueKind: JsonValueKind.Array } a ? a.GetRawText() : "[]";
            var now = DateTimeOffset.UtcNow;
            var due = dueSeconds > 0 ? DateTimeOffset.FromUnixTimeMilliseconds((long)(dueSeconds * 1000)) : (DateTimeOffset?)null;
            return (new Push(queue, JobPayload.FromJson(cls, args))
            {
                Id = LindaId(id),
                Period = record.Period > 0 ? TimeSpan.FromSeconds(record.Period) : null,
                MaxRetries = record.Retry > 0 ? record.Retry : null,
                Delay = due > now ? due.Value - now : TimeSpan.Zero,
            }, null);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or FormatException)
        {
            return (null, $"the record can't be read: {e.Message}");
        }
    }

    /// <summary>Stops moving (what is in the moving hash stays for the next bridge) and disconnects.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
            await _loop.ContinueWith(_ => { }, TaskScheduler.Default);
        if (_redis is not null)
            await _redis.DisposeAsync();
        _stop.Dispose();
    }

    /// <summary>The Go Linda's <c>Job</c>, as its saver writes it with encoding/json.</summary>
    private sealed record GoJob(
        [property: System.Text.Json.Serialization.JsonPropertyName("id")] string? Id,
        [property: System.Text.Json.Serialization.JsonPropertyName("queue")] string? Queue,
        [property: System.Text.Json.Serialization.JsonPropertyName("period")] long Period,
        [property: System.Text.Json.Serialization.JsonPropertyName("retry")] int Retry,
        [property: System.Text.Json.Serialization.JsonPropertyName("payload")] GoPayload? Payload);

    private sealed record GoPayload(
        [property: System.Text.Json.Serialization.JsonPropertyName("class")] string? Class,
        [property: System.Text.Json.Serialization.JsonPropertyName("args")] JsonElement? Args);
}

/// <summary>Runs a <see cref="RedisBridge"/> in an Akka.Hosting application that runs WithLinda.</summary>
public static class RedisBridgeHostingExtensions
{
    /// <summary>
    /// Starts the Redis bridge with the ActorSystem (moving into this node's Linda queues) and stops
    /// it at coordinated shutdown (service-unbind), before the queues stop.
    /// </summary>
    public static AkkaConfigurationBuilder WithRedisBridge(this AkkaConfigurationBuilder builder, RedisBridgeOptions options) =>
        builder.AddStartup(async (system, _) =>
        {
            var bridge = new RedisBridge(options, new LindaClient(system), Logging.GetLogger(system, "linda-redis-bridge"));
            await bridge.StartAsync();
            CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceUnbind, "linda-redis-bridge", async () =>
            {
                await bridge.DisposeAsync();
                return Akka.Done.Instance;
            });
        });
}
