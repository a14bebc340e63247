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

    /// <summary>
    /// Take queues Linda has no queue for yet too, for a front end that makes its queues on first use
    /// (Linda.Server: each becomes the tube of the same name). <b>Default:</b> false: only the queues
    /// Linda has (a <c>WithLinda</c> host's configured queues); the others stay in Redis untouched.
    /// </summary>
    public bool MakesQueues { get; set; }

    /// <summary>The most jobs one round takes out of one queue and pushes at once. <b>Default:</b> 500.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// The most jobs on their way into Linda at a time (taken out of the lists, not yet answered): a
    /// round of <see cref="BatchSize"/> is taken while earlier ones are written. <b>Default:</b> 2,000.
    /// </summary>
    public int MaxInFlight { get; set; } = 2_000;

    /// <summary>The StackExchange.Redis configuration of <see cref="Redis"/>.</summary>
    /// <exception cref="ArgumentException"><see cref="Redis"/> is a <c>redis://</c> URL without a host, or with a database that is not a number.</exception>
    internal string Configuration
    {
        get
        {
            if (!Redis.StartsWith("redis://", StringComparison.OrdinalIgnoreCase))
                return Redis.Length > 0 ? Redis : throw new ArgumentException("the Redis server is empty (redis://host:port/ or host:port)");
            if (!Uri.TryCreate(Redis, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
                throw new ArgumentException($"'{Redis}' is not a Redis URL like redis://127.0.0.1:6379/");
            var db = uri.AbsolutePath.Trim('/');
            if (db.Length > 0 && !Names.IsDigits(db))
                throw new ArgumentException($"'{Redis}': the database '{db}' is not a number");
            return $"{uri.Host}:{(uri.Port > 0 ? uri.Port : 6379)}" + (db.Length > 0 ? $",defaultDatabase={db}" : "");
        }
    }

    /// <summary>Checks every option; the bridge does this when it is made.</summary>
    /// <exception cref="ArgumentException">An option is out of range, with which and why.</exception>
    public void Validate()
    {
        _ = Configuration;
        if (BatchSize < 1)
            throw new ArgumentException($"BatchSize is {BatchSize}: at least 1");
        if (MaxInFlight < BatchSize)
            throw new ArgumentException($"MaxInFlight is {MaxInFlight}: at least BatchSize ({BatchSize})");
        if (PollInterval <= TimeSpan.Zero || ScanInterval <= TimeSpan.Zero || DedupFor <= TimeSpan.Zero)
            throw new ArgumentException("PollInterval, ScanInterval and DedupFor must be longer than zero");
        if (Queues?.FirstOrDefault(q => Names.Check(q, "queue name") is not null) is { } bad)
            throw new ArgumentException(Names.Check(bad, "queue name"));
    }
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
    // into the moving hash, in one step: a crash leaves every id in exactly one of the three. Returns
    // what it took: id, due, id, due... (due 0 for a ready job).
    private const string TakeScript = """
        local moved = {}
        for i = 1, tonumber(ARGV[1]) do
          local id = redis.call('LPOP', KEYS[1])
          if not id then break end
          redis.call('HSET', KEYS[3], id, '0')
          table.insert(moved, id)
          table.insert(moved, '0')
        end
        local due = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
        for i = 1, #due, 2 do
          redis.call('ZREM', KEYS[2], due[i])
          redis.call('HSET', KEYS[3], due[i], due[i + 1])
          table.insert(moved, due[i])
          table.insert(moved, due[i + 1])
        end
        return moved
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
    /// <exception cref="ArgumentException">An option is out of range (see <see cref="RedisBridgeOptions.Validate"/>).</exception>
    public RedisBridge(RedisBridgeOptions options, ILindaClient linda, ILoggingAdapter log)
    {
        options.Validate();
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

    /// <summary>
    /// The bridge's loop. Each round takes a batch of one queue into its moving hash and pushes the
    /// batch's jobs into Linda at once (their writes batch in the queue's journal); up to
    /// <see cref="RedisBridgeOptions.MaxInFlight"/> jobs are on their way at a time, so the next batch is
    /// taken while the last is being written. A round removes from the moving hash exactly the jobs
    /// Linda has (or that got an error key). Whatever is left there (Linda was away, Redis was away, a
    /// dead bridge's moves) is taken up by a recovery: once nothing is in flight, every moving hash is
    /// read and moved again (the unique key makes a second push of a moved job <see cref="AlreadyExists"/>).
    /// </summary>
    private async Task RunAsync(CancellationToken stop)
    {
        var db = _redis!.GetDatabase();
        IReadOnlyList<string> queues = [];
        var scannedAt = DateTime.MinValue;
        var rounds = new List<Task<bool>>(); // each: true when it left jobs in its moving hash
        var recover = true; // at start: a dead bridge's moves first
        var maxRounds = Math.Max(1, _options.MaxInFlight / _options.BatchSize);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (DateTime.UtcNow - scannedAt >= _options.ScanInterval || queues.Count == 0)
                {
                    queues = Queues();
                    scannedAt = DateTime.UtcNow;
                }
                if (recover)
                {
                    // Nothing in flight, so every entry of a moving hash is a move to finish.
                    recover = await DrainAsync(rounds);
                    foreach (var queue in queues)
                    {
                        var moving = await db.HashGetAllAsync(MovingKey(queue));
                        foreach (var chunk in moving.Chunk(_options.BatchSize))
                            recover |= await RoundAsync(db, queue, chunk.Select(e => ((string)e.Name!, (string?)e.Value)).ToArray(), stop);
                    }
                    if (recover)
                    {
                        await Task.Delay(_options.PollInterval, stop); // Linda still away: try again after a pause
                        continue;
                    }
                }
                var taken = 0;
                foreach (var queue in queues)
                {
                    while (rounds.Count >= maxRounds)
                    {
                        await Task.WhenAny(rounds);
                        recover |= Harvest(rounds);
                    }
                    var batch = (RedisResult[])(await db.ScriptEvaluateAsync(TakeScript,
                        [(RedisKey)("queue:" + queue), (RedisKey)("queue:" + queue + ":delayed"), MovingKey(queue)], [_options.BatchSize]))!;
                    if (batch.Length == 0)
                        continue;
                    var jobs = new (string Id, string? Due)[batch.Length / 2];
                    for (var i = 0; i < jobs.Length; i++)
                        jobs[i] = ((string)batch[2 * i]!, (string?)batch[2 * i + 1]);
                    taken += jobs.Length;
                    rounds.Add(RoundAsync(db, queue, jobs, stop));
                }
                recover |= Harvest(rounds);
                if (taken == 0)
                {
                    // Nothing new: let the rounds in flight end, then wait for more.
                    recover |= await DrainAsync(rounds);
                    if (!recover)
                        await Task.Delay(_options.PollInterval, stop);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                await DrainAsync(rounds).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // Redis is away (restarting): what was taken waits in the moving hash for the recovery.
                _log.Warning("redis bridge: {0}; trying again", e.Message);
                recover = true;
                await Task.Delay(_options.PollInterval, stop).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Anything else is a bug, but the bridge must not stop moving silently: say it, go on.
                _log.Error(e, "redis bridge: unexpected failure; trying again");
                recover = true;
                await Task.Delay(_options.PollInterval, stop).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>Removes the rounds that ended; true when one of them left jobs in its moving hash (or failed).</summary>
    private bool Harvest(List<Task<bool>> rounds)
    {
        var left = false;
        for (var i = rounds.Count - 1; i >= 0; i--)
        {
            if (!rounds[i].IsCompleted)
                continue;
            if (rounds[i].IsFaulted)
            {
                _log.Warning("redis bridge: {0}; trying again", rounds[i].Exception!.GetBaseException().Message);
                left = true;
            }
            else
                left |= rounds[i].IsCanceled || rounds[i].Result;
            rounds.RemoveAt(i);
        }
        return left;
    }

    /// <summary>Waits for every round in flight to end (whatever its outcome) and harvests them.</summary>
    private async Task<bool> DrainAsync(List<Task<bool>> rounds)
    {
        await Task.WhenAll(rounds).ContinueWith(_ => { }, TaskScheduler.Default);
        return Harvest(rounds);
    }

    /// <summary>
    /// The queues to take: the named ones, or every <c>queue:q</c> (or half-done moving hash) that Linda
    /// has a queue for (or, with <see cref="RedisBridgeOptions.MakesQueues"/>, whose name is a valid queue name).
    /// </summary>
    private IReadOnlyList<string> Queues()
    {
        var known = _linda.Queues.ToHashSet(StringComparer.Ordinal);
        bool Takes(string name) => known.Contains(name) || (_options.MakesQueues && Names.Check(name, "queue name") is null);
        if (_options.Queues is { } named)
            return named.Where(Takes).ToArray();
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in _redis!.GetEndPoints())
        {
            // A dead bridge's half-done moves count too: their queue may have no list left.
            foreach (var key in _redis.GetServer(endpoint).Keys(pattern: "linda:bridge:moving:*", pageSize: 500))
            {
                var name = ((string)key!)["linda:bridge:moving:".Length..];
                if (Takes(name))
                    found.Add(name);
            }
            foreach (var key in _redis.GetServer(endpoint).Keys(pattern: "queue:*", pageSize: 500))
            {
                var name = ((string)key!)["queue:".Length..];
                if (name.EndsWith(":delayed", StringComparison.Ordinal))
                    name = name[..^":delayed".Length];
                if (name.EndsWith(":reserved", StringComparison.Ordinal))
                    continue;
                if (Takes(name))
                    found.Add(name);
                else if (name.Length > 0 && !name.Contains(':'))
                    _log.Debug("redis bridge: queue:{0} has no Linda queue of that name; left in Redis", name);
            }
        }
        return found.Order(StringComparer.Ordinal).ToArray();
    }

    private static RedisKey MovingKey(string queue) => "linda:bridge:moving:" + queue;

    /// <summary>
    /// Moves <paramref name="jobs"/> (in the moving hash of <paramref name="queue"/>, with their due
    /// times) into Linda: their records in one read, their pushes all at once, then one removal of
    /// those Linda has or that got an error key. True when some are left in the moving hash (Linda was
    /// away or didn't answer): the recovery moves them again.
    /// </summary>
    private async Task<bool> RoundAsync(IDatabase db, string queue, (string Id, string? Due)[] jobs, CancellationToken stop)
    {
        var records = await db.StringGetAsync(jobs.Select(j => (RedisKey)("linda:job:" + j.Id + ":info")).ToArray());
        var outcomes = await Task.WhenAll(jobs.Select((job, i) => MoveAsync(queue, job.Id, job.Due, records[i], stop)));
        var errors = new List<KeyValuePair<RedisKey, RedisValue>>();
        var done = new List<RedisValue>(jobs.Length);
        for (var i = 0; i < jobs.Length; i++)
        {
            if (outcomes[i] is { Left: true })
                continue;
            if (outcomes[i].Error is { } error)
            {
                errors.Add(new("linda:bridge:error:" + jobs[i].Id, error));
                _log.Warning("redis bridge: job {0} of queue:{1} not moved: {2} (in linda:bridge:error:{0})", jobs[i].Id, queue, error);
            }
            done.Add(jobs[i].Id);
        }
        if (errors.Count > 0)
        {
            await db.StringSetAsync(errors.ToArray()); // before the removal: a crash between leaves the job moving, not lost
            Interlocked.Add(ref _failed, errors.Count);
        }
        if (done.Count > 0)
            await db.HashDeleteAsync(MovingKey(queue), done.ToArray());
        Interlocked.Add(ref _moved, done.Count - errors.Count);
        return done.Count < jobs.Length;
    }

    /// <summary>One job's push: moved (Linda has it), an error for its key, or left for later (Linda away).</summary>
    private async Task<(bool Left, string? Error)> MoveAsync(string queue, string id, string? due, RedisValue record, CancellationToken stop)
    {
        var dueSeconds = double.TryParse(due, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) ? d : 0;
        var (push, error) = Read(queue, id, dueSeconds, record);
        if (push is null)
            return (false, error);
        IReply reply;
        try
        {
            reply = await _linda.PushAsync(push with { UniqueKey = DedupKey(queue, id), UniqueFor = _options.DedupFor }, stop);
        }
        catch (AskTimeoutException)
        {
            return (true, null); // no answer: it may be in; the next push of it is AlreadyExists if so
        }
        return reply switch
        {
            Pushed or AlreadyExists => (false, null),
            Unavailable or WriteFailed => (true, null),
            _ => (false, $"Linda refused the job: {((IFailure)reply).Message}"),
        };
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
    private static (Push? Push, string? Error) Read(string queue, string id, double dueSeconds, RedisValue json)
    {
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
