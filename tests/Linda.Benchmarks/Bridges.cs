using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Event;
using Linda.Hosting;
using Linda.RabbitMQ;
using Linda.Redis;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Linda.Tests.Infrastructure;
using StackExchange.Redis;
using static Linda.JobQueue;

namespace Linda.Benchmarks;

/// <summary>
/// The bridge mode: how fast a broker bridge moves jobs into a Linda queue (SQLite FULL, one queue
/// actor), beside Linda's own push rate (the push mode's producers, on a fresh file) and the source's
/// own consumer rate, all in one run on this machine.
/// </summary>
internal static partial class Program
{
    private static async Task ModeBridge(Options o, int? count)
    {
        await WarmUp(o);
        var n = count ?? 50_000;
        foreach (var source in o.Str("source", "redis").Split(','))
        {
            switch (source)
            {
                case "redis": await BridgeRedis(o, n); break;
                case "rabbitmq": await BridgeRabbitMq(o, n); break;
                default: throw new ArgumentException($"--source: unknown source '{source}' (redis, rabbitmq)");
            }
        }
    }

    /// <summary>Linda's own push rate on a fresh file: the push mode's shape (4 producers, 200 in flight each).</summary>
    private static async Task<double> LindaPushRate(Options o, int n)
    {
        await using var b = await Bench.CreateAsync(o);
        var q = await b.StartedQueue("bench");
        var (seconds, _) = await RunPush(b, q, "bench", n, o.Int("producers", 4), o.Int("window", 200), "actor");
        await q.GracefulStop(TimeSpan.FromSeconds(30));
        return n / seconds;
    }

    /// <summary>
    /// Linda's push rate for the pushes a bridge makes (an id, a unique key held for a day, the bridge's
    /// payload), through the same client, with the bridge's window in flight: what the bridge costs on
    /// top of its pushes.
    /// </summary>
    private static async Task<double> BridgeLikePushRate(Options o, int n, int window)
    {
        await using var b = await Bench.CreateAsync(o);
        var q = await b.StartedQueue("test");
        ILindaClient client = new QueueClient(b.Sys, "test", q);
        var payload = JobPayload.FromJson("bench", JsonSerializer.Serialize(new object[] { 1, new string('x', 60) }));
        var next = -1;
        var t0 = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, window).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < n)
            {
                var id = "job-" + i.ToString(CultureInfo.InvariantCulture);
                var reply = await client.PushAsync(new Push("test", payload) { Id = id, UniqueKey = RedisBridge.DedupKey("test", id), UniqueFor = TimeSpan.FromDays(1) });
                if (reply is not Pushed)
                    throw new InvalidOperationException($"push {id}: {reply}");
            }
        }));
        var seconds = Stat.Seconds(t0, Stopwatch.GetTimestamp());
        await q.GracefulStop(TimeSpan.FromSeconds(30));
        return n / seconds;
    }

    private static async Task BridgeRedis(Options o, int n)
    {
        await using var redis = await RedisServer.StartAsync();
        // The source's own consumer rate: redis-benchmark's LPOP (50 clients, after its LPUSH fills the list).
        var lpopRate = await RedisBenchmark(redis.Port, n); // alone: nothing else runs meanwhile
        var push = await LindaPushRate(o, n);
        var like = await BridgeLikePushRate(o, n, o.Int("in-flight", new RedisBridgeOptions().MaxInFlight));

        await using var b = await Bench.CreateAsync(o);
        var q = await b.StartedQueue("test");
        var db = redis.Db;
        // What the Go Linda's push_jobs writes, n times: each record, then its id on the ready list (pipelined).
        var writes = new List<Task>(2 * n);
        for (var i = 0; i < n; i++)
        {
            var id = "job-" + i.ToString(CultureInfo.InvariantCulture);
            var record = JsonSerializer.Serialize(new
            {
                id, queue = "test", period = 0, retry = 3, created_at = "2026-12-01T00:00:00Z",
                payload = new { @class = "bench", args = new object[] { i, new string('x', 60) } },
                state = new { run_times = 0, last_run_at = "0001-01-01T00:00:00Z", retries = 0 },
            });
            writes.Add(db.StringSetAsync($"linda:job:{id}:info", record));
            writes.Add(db.ListRightPushAsync("queue:test", id));
        }
        await Task.WhenAll(writes);

        var redisMarker = $"127.0.0.1:{redis.Port}"; // redis-server's process title
        var options = new RedisBridgeOptions
        {
            Redis = redis.Url,
            Queues = ["test"],
            BatchSize = o.Int("batch", new RedisBridgeOptions().BatchSize),
            MaxInFlight = o.Int("in-flight", new RedisBridgeOptions().MaxInFlight),
            PollInterval = TimeSpan.FromMilliseconds(10),
        };
        var usage = new Usage();
        var serverCpu = ServerCpuSeconds(redisMarker);
        var t0 = Stopwatch.GetTimestamp();
        await using (var bridge = new RedisBridge(options, new QueueClient(b.Sys, "test", q), Logging.GetLogger(b.Sys, "bridge")))
        {
            await bridge.StartAsync();
            await Stat.Within(Until(async () => (await q.Ask<QueueStats>(GetStats.Instance, AskTimeout)).Ready >= n), RunTimeout, "bridge");
        }
        var seconds = Stat.Seconds(t0, Stopwatch.GetTimestamp());
        var serverUs = (ServerCpuSeconds(redisMarker) - serverCpu) * 1e6 / n;
        var figures = usage.Figures(n);
        var left = await db.ListLengthAsync("queue:test") + await db.HashLengthAsync("linda:bridge:moving:test");
        var stats = await q.Ask<QueueStats>(GetStats.Instance, AskTimeout);
        if (left != 0 || stats.Ready != n)
            throw new InvalidOperationException($"bridge: {stats.Ready} jobs in Linda, {left} left in Redis, expected {n} and 0");
        var moved = n / seconds;
        var lower = Math.Min(push, lpopRate);
        Console.Error.WriteLine($"# bridge redis: {n} jobs moved in {seconds:F3} s; Linda push {push:F0}/s, redis-benchmark LPOP {lpopRate:F0}/s");
        Console.WriteLine($"RESULT mode=bridge source=redis store={b.Store} n={n} batch={options.BatchSize} in_flight={options.MaxInFlight} bridge_jobs_per_s={Stat.F(moved, 0)} " +
                          $"linda_push_jobs_per_s={Stat.F(push, 0)} source_consume_per_s={Stat.F(lpopRate, 0)} ratio_to_lower={Stat.F(moved / lower, 2)} " +
                          $"server_cpu_us_per_job_bridged={Stat.F(serverUs, 1)} " +
                          $"push_like_bridge_per_s={Stat.F(like, 0)} ratio_to_push_like_bridge={Stat.F(moved / like, 2)} " +
                          $"{figures} {JournalWrites(b, "test", n)}");
        await q.GracefulStop(TimeSpan.FromSeconds(30));
    }

    private static async Task BridgeRabbitMq(Options o, int n)
    {
        var rabbit = new RabbitMqServer();
        await rabbit.InitializeAsync();
        try
        {
            var prefetch = o.Int("prefetch", new RabbitMqBridgeOptions().Prefetch);
            await using var connection = await rabbit.Factory().CreateConnectionAsync();
            // The source's own consumer rate: basic.consume with manual acks, the bridge's prefetch, one ack per message.
            await PublishJobs(connection, "consume", n);
            var marker = rabbit.NodeName; // RABBITMQ_NODENAME in its Erlang processes' environment
            var cpu0 = ServerCpuSeconds(marker);
            var consume = await ConsumeRate(connection, "consume", n, (ushort)prefetch);
            var serverConsumeUs = (ServerCpuSeconds(marker) - cpu0) * 1e6 / n;
            var push = await LindaPushRate(o, n);
            var like = await BridgeLikePushRate(o, n, prefetch);

            await using var b = await Bench.CreateAsync(o);
            var q = await b.StartedQueue("test");
            await PublishJobs(connection, "test", n);
            var options = new RabbitMqBridgeOptions { Url = rabbit.Url, Queues = ["test"], Prefetch = prefetch };
            var usage = new Usage();
            var cpu1 = ServerCpuSeconds(marker);
            var t0 = Stopwatch.GetTimestamp();
            var window = new List<int>();
            await using (var bridge = new RabbitMqBridge(options, new QueueClient(b.Sys, "test", q), b.Sys))
            {
                await bridge.StartAsync();
                await Stat.Within(Until(async () =>
                {
                    window.Add(bridge.Unacked); // how full the bridge's window is, sampled
                    return (await q.Ask<QueueStats>(GetStats.Instance, AskTimeout)).Ready >= n;
                }), RunTimeout, "bridge");
            }
            var seconds = Stat.Seconds(t0, Stopwatch.GetTimestamp());
            var serverBridgeUs = (ServerCpuSeconds(marker) - cpu1) * 1e6 / n;
            var figures = usage.Figures(n);
            var (ready, unacked) = await rabbit.CountsAsync("test");
            var stats = await q.Ask<QueueStats>(GetStats.Instance, AskTimeout);
            if (ready + unacked != 0 || stats.Ready != n)
                throw new InvalidOperationException($"bridge: {stats.Ready} jobs in Linda, {ready} + {unacked} left in RabbitMQ, expected {n} and 0");
            var moved = n / seconds;
            var lower = Math.Min(push, consume);
            Console.Error.WriteLine($"# bridge rabbitmq: {n} messages moved in {seconds:F3} s; Linda push {push:F0}/s, basic.consume {consume:F0}/s");
            Console.WriteLine($"RESULT mode=bridge source=rabbitmq store={b.Store} n={n} prefetch={prefetch} bridge_jobs_per_s={Stat.F(moved, 0)} " +
                              $"linda_push_jobs_per_s={Stat.F(push, 0)} source_consume_per_s={Stat.F(consume, 0)} ratio_to_lower={Stat.F(moved / lower, 2)} " +
                              $"server_cpu_us_per_msg_consumed={Stat.F(serverConsumeUs, 1)} server_cpu_us_per_msg_bridged={Stat.F(serverBridgeUs, 1)} " +
                              $"window_mean={Stat.F(window.Average(), 0)} " +
                              $"push_like_bridge_per_s={Stat.F(like, 0)} ratio_to_push_like_bridge={Stat.F(moved / like, 2)} " +
                              $"{figures} {JournalWrites(b, "test", n)}");
            await q.GracefulStop(TimeSpan.FromSeconds(30));
        }
        finally
        {
            await rabbit.DisposeAsync();
        }
    }

    /// <summary>n persistent messages of the bridge's JSON form, each with its id, to a new durable queue, confirmed (2,000 in flight).</summary>
    private static async Task PublishJobs(IConnection connection, string queue, int n)
    {
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 2_000).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < n)
            {
                var body = JsonSerializer.SerializeToUtf8Bytes(new { @class = "bench", args = new object[] { i, new string('x', 60) } });
                var properties = new BasicProperties { Persistent = true, MessageId = "job-" + i.ToString(CultureInfo.InvariantCulture) };
                await channel.BasicPublishAsync("", queue, mandatory: false, properties, body);
            }
        }));
    }

    /// <summary>Messages per second a plain consumer takes: basic.consume, manual acks (one per message), <paramref name="prefetch"/> unacked at most.</summary>
    private static async Task<double> ConsumeRate(IConnection connection, string queue, int n, ushort prefetch)
    {
        await using var channel = await connection.CreateChannelAsync();
        await channel.BasicQosAsync(0, prefetch, global: false);
        var consumer = new AsyncEventingBasicConsumer(channel);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var count = 0;
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
            if (++count == n)
                done.TrySetResult();
        };
        var t0 = Stopwatch.GetTimestamp();
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        await done.Task.WaitAsync(RunTimeout);
        return n / Stat.Seconds(t0, Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// The CPU seconds used so far by every process whose command line or environment contains
    /// <paramref name="marker"/> (the source's server: RabbitMQ's node name, in RABBITMQ_NODENAME; Redis's
    /// address, in its process title), from /proc: what the source costs beside the bridge.
    /// </summary>
    private static double ServerCpuSeconds(string marker)
    {
        var ticks = 0L;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (!int.TryParse(Path.GetFileName(dir), out _)
                    || !(File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(marker, StringComparison.Ordinal)
                         || File.ReadAllText(Path.Combine(dir, "environ")).Contains("=" + marker, StringComparison.Ordinal)))
                    continue;
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture); // utime, stime
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // the process ended meanwhile, or is not ours to read
            }
        }
        return ticks / 100.0; // USER_HZ
    }

    /// <summary>redis-benchmark's LPOP requests per second (its LPUSH fills the list first), run as a process.</summary>
    private static async Task<double> RedisBenchmark(int port, int n)
    {
        var start = new ProcessStartInfo("redis-benchmark", ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-t", "lpush,lpop", "-n", n.ToString(CultureInfo.InvariantCulture), "-q"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-benchmark did not start (apt-get install redis-tools)");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        // "LPOP: 98425.20 requests per second, p50=0.263 msec" (-q prints each test's last state after \r)
        var match = Regex.Match(output, @"LPOP: ([0-9.]+) requests per second");
        return match.Success
            ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)
            : throw new InvalidOperationException($"redis-benchmark printed no LPOP rate: {output}");
    }

    private static async Task<bool> Until(Func<Task<bool>> condition)
    {
        while (!await condition())
            await Task.Delay(5);
        return true;
    }

    /// <summary>An <see cref="ILindaClient"/> over the bench's one queue actor: what a bridge pushes through.</summary>
    private sealed class QueueClient(ActorSystem system, string name, IActorRef queue) : ILindaClient
    {
        public IReadOnlyCollection<string> Queues => [name];

        public IActorRef Queue(string queueName) => queueName == name ? queue : throw new ArgumentException($"no queue '{queueName}'");

        public async Task<IReply> SendAsync(string queueName, ICommand command, CancellationToken cancellationToken = default) =>
            queueName == name
                ? await queue.Ask<IReply>(command, AskTimeout, cancellationToken)
                : new Rejected(RejectReason.InvalidQueueName, $"no queue '{queueName}'");

        public override string ToString() => $"{system.Name}/{name}";
    }
}
