using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Linda.Hosting;
using Linda.RabbitMQ;
using Linda.Tests.Infrastructure;
using Linda.Workers;
using RabbitMQ.Client;
using Xunit;
using Xunit.Abstractions;
using static Linda.JobQueue;
using static Linda.Tests.Infrastructure.Conditions;

namespace Linda.Tests;

/// <summary>
/// The RabbitMQ bridge against a real rabbitmq-server (one for the collection, on free ports), into
/// Linda nodes on SQLite files (Akka's default cluster profile). Messages are published as a RabbitMQ
/// producer publishes them: to a durable queue, persistent, with message ids, through RabbitMQ.Client
/// with publisher confirms. Each spec has queues of its own.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RabbitMqBridgeSpec(RabbitMqServer rabbit, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TempFolder _folder = new("linda-rabbitmq-spec");
    private readonly ConcurrentQueue<(string Id, string Args)> _runs = new();
    private readonly string _queue = "q" + Guid.NewGuid().ToString("N")[..10];
    private IConnection _connection = null!;
    private IChannel _channel = null!;

    public async Task InitializeAsync()
    {
        _connection = await rabbit.Factory().CreateConnectionAsync();
        _channel = await _connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await _channel.QueueDeclareAsync(_queue, durable: true, exclusive: false, autoDelete: false);
    }

    public async Task DisposeAsync()
    {
        if (rabbit.Running && _connection.IsOpen)
        {
            await using var cleanup = await _connection.CreateChannelAsync();
            await cleanup.QueueDeleteAsync(_queue);
        }
        await _connection.DisposeAsync();
        _folder.Dispose();
    }

    private void Record(JobHandlers h) => h.Register("record", ctx =>
    {
        _runs.Enqueue((ctx.JobId, ctx.Args.GetRawText()));
        return Task.CompletedTask;
    }).Register("poison", _ => throw new BuryJobException("poisoned"));

    private Task<LindaHost> StartLinda(string? hocon = null, Action<Akka.Hosting.AkkaConfigurationBuilder>? more = null, string? workerRole = null, string name = "linda") =>
        LindaHost.StartAsync(new LindaOptions { Queues = [_queue], WorkerNum = 2, WorkerRole = workerRole, SqlitePath = _folder.File(name + ".db") }, Record, hocon: hocon, more: more);

    private RabbitMqBridgeOptions Options(Func<RabbitMqBridgeOptions, RabbitMqBridgeOptions>? configure = null)
    {
        var options = new RabbitMqBridgeOptions { Url = rabbit.Url, Queues = [_queue], RetryDelay = TimeSpan.FromMilliseconds(100), ReconnectDelay = TimeSpan.FromMilliseconds(200) };
        return configure is null ? options : configure(options);
    }

    private static async Task<RabbitMqBridge> Bridge(LindaHost node, RabbitMqBridgeOptions options)
    {
        var bridge = new RabbitMqBridge(options, node.Client, node.System);
        await bridge.StartAsync();
        return bridge;
    }

    private static byte[] Json(string cls, params object[] args) => JsonSerializer.SerializeToUtf8Bytes(new { @class = cls, args });

    /// <summary>Publishes persistently to the spec's queue through the default exchange and waits for RabbitMQ's confirm.</summary>
    private async Task Publish(string? id, byte[] body, Dictionary<string, object?>? headers = null, IChannel? channel = null)
    {
        var properties = new BasicProperties { Persistent = true, ContentType = "application/json", MessageId = id, Headers = headers };
        await (channel ?? _channel).BasicPublishAsync("", _queue, mandatory: true, properties, body);
    }

    /// <summary>Publishes many, a hundred confirms awaited at a time.</summary>
    private async Task PublishMany(IEnumerable<(string Id, byte[] Body)> messages)
    {
        foreach (var chunk in messages.Chunk(100))
            await Task.WhenAll(chunk.Select(m => Publish(m.Id, m.Body)));
    }

    private string[] RanIds => _runs.Select(r => r.Id).ToArray();

    [Fact]
    public async Task Confirmed_persistent_messages_run_once_each_through_lindas_workers_and_leave_the_queue_empty()
    {
        await PublishMany(Enumerable.Range(0, 300).Select(i => ($"m-{i:000}", Json("record", i, "x"))));
        await Publish("42", Json("record", "digits")); // digit-only message ids are Linda's own: amqp-42
        await using var node = await StartLinda(more: akka => akka.WithRabbitMqBridge(Options()));

        await Until(() => _runs.Count >= 301, "the 301 messages to run", detail: () => $"{_runs.Count} ran");
        Assert.Equal(301, RanIds.Distinct().Count());
        Assert.Contains(("m-007", "[7,\"x\"]"), _runs);
        Assert.Contains(("amqp-42", "[\"digits\"]"), _runs);
        await Until(async () => await rabbit.CountsAsync(_queue) == (0, 0), "RabbitMQ's queue to be empty and everything acknowledged");
        Assert.Equal(301, _runs.Count); // none twice
        var stats = Assert.IsType<QueueStats>(await node.Client.GetStatsAsync(_queue));
        Assert.Equal(301, stats.TotalJobs);
    }

    [Fact]
    public async Task Headers_map_to_the_job_and_a_raw_body_with_its_class_header_keeps_its_bytes()
    {
        await using var node = await StartLinda(workerRole: "nobody-runs-jobs");
        await using var bridge = await Bridge(node, Options());
        await Publish("message-id-loses", Json("record", "mapped"), new()
        {
            [RabbitMqHeaders.Id] = "mapped",
            [RabbitMqHeaders.Priority] = 7,
            [RabbitMqHeaders.Delay] = 3_600_000L,
            [RabbitMqHeaders.TimeToRun] = "5000", // a number as a string
            [RabbitMqHeaders.Retries] = 2,
            [RabbitMqHeaders.Timeout] = 1500,
            [RabbitMqHeaders.ConcurrencyKey] = "customer-7",
        });
        byte[] raw = [0, 1, 2, 255, (byte)'\n'];
        await Publish("raw", raw, new() { [RabbitMqHeaders.Class] = "resize" });
        await Publish("plain", Json("record"));

        await Until(() => bridge.Moved == 3, "the three messages to be moved", detail: () => $"moved {bridge.Moved}, refused {bridge.Refused}");
        var mapped = Assert.IsType<JobView>(await node.Client.GetJobAsync(_queue, "mapped"));
        Assert.Equal(JobState.Delayed, mapped.State);
        Assert.InRange(mapped.DueAt!.Value, DateTimeOffset.UtcNow.AddMinutes(58), DateTimeOffset.UtcNow.AddMinutes(61));
        Assert.Equal((7u, TimeSpan.FromSeconds(5), (int?)2), (mapped.Job.Priority, mapped.Job.TimeToRun, mapped.Job.MaxRetries));
        Assert.Equal((TimeSpan.FromMilliseconds(1500), "customer-7"), (mapped.Job.Timeout, mapped.Job.ConcurrencyKey));
        Assert.Equal("[\"mapped\"]", mapped.Job.Payload.ArgsJson);
        Assert.Equal(RabbitMqBridge.DedupKey("mapped"), mapped.Job.UniqueKey);
        Assert.IsType<NotFound>(await node.Client.GetJobAsync(_queue, "message-id-loses"));

        var rawJob = Assert.IsType<JobView>(await node.Client.GetJobAsync(_queue, "raw"));
        Assert.True(rawJob.Job.Payload.IsRaw);
        Assert.Equal("resize", rawJob.Job.Payload.Class);
        Assert.Equal(raw, rawJob.Job.Payload.Body.ToArray());

        var plain = Assert.IsType<JobView>(await node.Client.GetJobAsync(_queue, "plain"));
        Assert.Equal((JobState.Ready, Job.DefaultPriority, "[]"), (plain.State, plain.Job.Priority, plain.Job.Payload.ArgsJson)); // the queue's defaults
    }

    [Fact]
    public async Task A_message_published_twice_with_one_id_runs_once_even_after_its_job_ended()
    {
        await using var node = await StartLinda();
        await using var bridge = await Bridge(node, Options());
        await Publish("dup", Json("record", "first"));
        await Publish("dup", Json("record", "second")); // the producer's retry of a publish it thought lost
        await Until(() => bridge.Moved == 2, "both publishes to be taken");
        await Until(() => _runs.Count == 1, "the job to run");

        await Publish("dup", Json("record", "third")); // long after the job ended
        await Until(() => bridge.Moved == 3, "the third publish to be taken");
        await Until(async () => await rabbit.CountsAsync(_queue) == (0, 0), "everything acknowledged");
        Assert.Equal((3L, 2L), (bridge.Moved, bridge.Duplicates));
        Assert.Equal([("dup", "[\"first\"]")], _runs.ToArray());
        Assert.Equal(1, Assert.IsType<QueueStats>(await node.Client.GetStatsAsync(_queue)).TotalJobs);
    }

    [Fact]
    public async Task Malformed_and_too_big_messages_are_dead_lettered_with_their_reasons_and_the_rest_flow_on()
    {
        await using (var purge = await _connection.CreateChannelAsync())
        {
            await purge.QueueDeclareAsync(RabbitMqBridgeOptions.DefaultDeadLetterQueue, durable: true, exclusive: false, autoDelete: false);
            await purge.QueuePurgeAsync(RabbitMqBridgeOptions.DefaultDeadLetterQueue);
        }
        await using var node = await StartLinda(hocon: "linda.queue.max-payload-bytes = 1024");
        await using var bridge = await Bridge(node, Options());
        var bad = new (string Id, byte[] Body, Dictionary<string, object?>? Headers, string Reason)[]
        {
            ("not-json", "{class: nope"u8.ToArray(), null, "the body is not JSON"),
            ("an-array", "[1,2]"u8.ToArray(), null, "the body is an array, not a JSON object"),
            ("no-class", "{\"args\": []}"u8.ToArray(), null, "the body has no \"class\""),
            ("args-object", "{\"class\": \"record\", \"args\": {}}"u8.ToArray(), null, "the body's \"args\" is an object, not an array"),
            ("extra", "{\"class\": \"record\", \"args\": [], \"queue\": \"x\"}"u8.ToArray(), null, "the body has a member \"queue\""),
            ("bad-priority", Json("record"), new() { [RabbitMqHeaders.Priority] = "high" }, "header x-linda-priority is 'high', not a whole number"),
            ("too-big", Json("record", new string('x', 2000)), null, "Linda refused the job: payload"),
            ("has space", Json("record"), null, "Linda refused the job: job id 'has space' contains ' '"),
        };
        for (var i = 0; i < bad.Length; i++)
        {
            await Publish($"good-{i}", Json("record", i));
            await Publish(bad[i].Id, bad[i].Body, bad[i].Headers);
        }
        await Publish("good-last", Json("record", "last"));

        await Until(() => _runs.Count == bad.Length + 1, "the good messages to run", detail: () => $"ran [{string.Join(", ", RanIds)}], refused {bridge.Refused}");
        await Until(() => bridge.Refused == bad.Length, "the bad ones to be refused", detail: () => $"refused {bridge.Refused}");
        await Until(async () => await rabbit.CountsAsync(_queue) == (0, 0), "everything acknowledged");
        var dead = new Dictionary<string, BasicGetResult>();
        await using (var reader = await _connection.CreateChannelAsync())
        {
            while (await reader.BasicGetAsync(RabbitMqBridgeOptions.DefaultDeadLetterQueue, autoAck: true) is { } got)
                dead[got.BasicProperties.MessageId!] = got;
        }
        Assert.Equal(bad.Select(b => b.Id).Order(), dead.Keys.Order());
        foreach (var b in bad)
        {
            var got = dead[b.Id];
            var headers = got.BasicProperties.Headers!;
            var reason = Encoding.UTF8.GetString((byte[])headers[RabbitMqHeaders.RefusedReason]!);
            Assert.True(reason.StartsWith(b.Reason, StringComparison.Ordinal), $"{b.Id}: '{reason}' should start with '{b.Reason}'");
            Assert.Equal(_queue, Encoding.UTF8.GetString((byte[])headers[RabbitMqHeaders.RefusedQueue]!));
            Assert.Equal(b.Body, got.Body.ToArray()); // the message as it was published
            Assert.True(got.BasicProperties.Persistent);
        }
        Assert.Equal("the body is not JSON", bad[0].Reason);
    }

    [Fact]
    public async Task A_dead_letter_exchange_that_routes_nowhere_holds_the_refused_message_until_a_queue_is_bound()
    {
        var exchange = _queue + "-dlx";
        await _channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true, autoDelete: false);
        await using var node = await StartLinda();
        await using var bridge = await Bridge(node, Options(o => { o.DeadLetterExchange = exchange; return o; }));
        await Publish("broken", "{"u8.ToArray());
        await Publish("fine", Json("record", "ok"));

        await Until(() => bridge.Retries >= 2 && _runs.Count == 1, "the refusal to be held while the good one runs", detail: () => $"retries {bridge.Retries}, ran {_runs.Count}");
        Assert.Equal((0L, 1), (bridge.Refused, bridge.Unacked)); // not dropped: still RabbitMQ's, unacknowledged
        var dead = await _channel.QueueDeclareAsync(_queue + "-dead", durable: true, exclusive: false, autoDelete: false);
        await _channel.QueueBindAsync(dead.QueueName, exchange, "");

        await Until(() => bridge.Refused == 1, "the refusal to be dead-lettered once a queue is bound");
        var got = await Eventually(() => _channel.BasicGetAsync(dead.QueueName, autoAck: true), "the dead letter");
        Assert.Equal("broken", got.BasicProperties.MessageId);
        Assert.StartsWith("the body is not JSON", Encoding.UTF8.GetString((byte[])got.BasicProperties.Headers![RabbitMqHeaders.RefusedReason]!));
        Assert.Equal(_queue, got.RoutingKey); // the routing key it was published with
        await Until(async () => await rabbit.CountsAsync(_queue) == (0, 0), "everything acknowledged");
        await _channel.QueueDeleteAsync(dead.QueueName);
        await _channel.ExchangeDeleteAsync(exchange);
    }

    [Fact]
    public async Task A_queue_or_exchange_that_does_not_exist_fails_the_start_saying_which()
    {
        await using var node = await StartLinda(workerRole: "nobody-runs-jobs");
        var noQueue = new RabbitMqBridge(Options(o => { o.Queues = [new BridgedQueue(_queue + "-missing", _queue)]; return o; }), node.Client, node.System);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => noQueue.StartAsync());
        Assert.Equal($"RabbitMQ has no queue '{_queue}-missing': the bridge takes only queues that exist (producers declare them)", e.Message);
        var noExchange = new RabbitMqBridge(Options(o => { o.DeadLetterExchange = _queue + "-nowhere"; return o; }), node.Client, node.System);
        e = await Assert.ThrowsAsync<InvalidOperationException>(() => noExchange.StartAsync());
        Assert.StartsWith($"RabbitMQ has no exchange '{_queue}-nowhere' (DeadLetterExchange)", e.Message);
        var unreachable = new RabbitMqBridge(Options(o => { o.Url = $"amqp://guest:guest@127.0.0.1:{TestPrograms.FreePort()}/"; return o; }), node.Client, node.System);
        e = await Assert.ThrowsAsync<InvalidOperationException>(() => unreachable.StartAsync());
        Assert.StartsWith("the RabbitMQ bridge can't connect to amqp://guest:***@127.0.0.1:", e.Message);
    }

    [Fact]
    public async Task Outcomes_each_completion_and_burial_is_published_to_the_outcome_exchange()
    {
        var exchange = _queue + "-outcomes";
        await _channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: true);
        var outcomes = await _channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true);
        await _channel.QueueBindAsync(outcomes.QueueName, exchange, _queue + ".*");
        await using var node = await StartLinda(more: akka => akka.WithRabbitMqBridge(Options(o => { o.OutcomeExchange = exchange; return o; })));
        await Publish("fine", Json("record", "ok"));
        await Publish("bad", Json("poison"));

        var got = new List<(string RoutingKey, JsonElement Json, IReadOnlyBasicProperties Properties)>();
        await Until(async () =>
        {
            while (await _channel.BasicGetAsync(outcomes.QueueName, autoAck: true) is { } m)
                got.Add((m.RoutingKey, JsonDocument.Parse(m.Body).RootElement.Clone(), m.BasicProperties));
            return got.Count >= 2;
        }, "a completion and a burial to be published");
        var completed = Assert.Single(got, g => g.RoutingKey == _queue + ".completed");
        Assert.Equal(("fine", "record", "completed", JsonValueKind.Null, 1),
            (completed.Json.GetProperty("id").GetString(), completed.Json.GetProperty("class").GetString(), completed.Json.GetProperty("outcome").GetString(),
             completed.Json.GetProperty("reason").ValueKind, completed.Json.GetProperty("attempts").GetInt32()));
        Assert.Equal(_queue, completed.Json.GetProperty("queue").GetString());
        Assert.InRange(completed.Json.GetProperty("at").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal(("application/json", "completed", "fine"), (completed.Properties.ContentType, completed.Properties.Type, completed.Properties.CorrelationId));
        var buried = Assert.Single(got, g => g.RoutingKey == _queue + ".buried");
        Assert.Equal(("bad", "poison", "buried", "poisoned"),
            (buried.Json.GetProperty("id").GetString(), buried.Json.GetProperty("class").GetString(), buried.Json.GetProperty("outcome").GetString(), buried.Json.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task Back_pressure_at_most_prefetch_messages_are_held_unacknowledged_while_linda_cant_answer_and_the_rest_wait_in_rabbitmq()
    {
        const int Prefetch = 20;
        const int Messages = 100;
        for (var i = 0; i < Messages; i++)
            await Publish($"b-{i:000}", Json("record", i));
        // The bridge's node has no queue role: until a node that has joins, no push is answered.
        LindaOptions NodeOptions(string file) => new() { Queues = [_queue], WorkerNum = 2, QueueRole = "queues", SqlitePath = _folder.File(file) };
        await using var first = await LindaHost.StartAsync(NodeOptions("bridge.db"), Record, roles: ["bridge"]);
        await using var bridge = await Bridge(first, Options(o =>
        {
            o.Prefetch = Prefetch;
            o.PushTimeout = TimeSpan.FromSeconds(1);
            return o;
        }));

        await Until(() => bridge.Unacked == Prefetch && bridge.Retries > Prefetch, "the bridge to hold a full window and try again", detail: () => $"unacked {bridge.Unacked}, retries {bridge.Retries}");
        Assert.Equal((Messages - Prefetch, Prefetch), await rabbit.CountsAsync(_queue)); // as RabbitMQ counts them
        Assert.Empty(_runs);

        await using var queues = await LindaHost.StartAsync(NodeOptions("queues.db"), Record, seed: first.Address, roles: ["queues"]);
        await Until(() => _runs.Count >= Messages, "every message to run once the queue is up", detail: () => $"{_runs.Count} ran, moved {bridge.Moved}");
        await Until(async () => await rabbit.CountsAsync(_queue) == (0, 0), "everything acknowledged");
        Assert.Equal(Messages, RanIds.Distinct().Count());
        Assert.Equal(Messages, _runs.Count); // the pushes that timed out and landed later were recognized
        Assert.Equal(Prefetch, bridge.MaxUnacked);
        output.WriteLine($"moved {bridge.Moved}, of them duplicates {bridge.Duplicates}, retries {bridge.Retries}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_rabbitmq_server_restarted_under_load_loses_no_confirmed_message_and_runs_none_twice(bool killed)
    {
        await using var node = await StartLinda();
        await using var bridge = await Bridge(node, Options());
        var confirmed = new ConcurrentQueue<string>();
        var restarted = new TaskCompletionSource();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var producer = Task.Run(async () =>
        {
            // A producer that goes on through the outage: each message is published until confirmed, with its id.
            IConnection? connection = null;
            IChannel? channel = null;
            var afterRestart = 0;
            for (var i = 0; afterRestart < 300 && !stop.IsCancellationRequested; i++)
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        if (channel is not { IsOpen: true })
                        {
                            connection?.Dispose();
                            connection = await rabbit.Factory().CreateConnectionAsync(stop.Token);
                            channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true), stop.Token);
                        }
                        await Publish($"r-{i:0000}", Json("record", i), channel: channel);
                        confirmed.Enqueue($"r-{i:0000}");
                        if (restarted.Task.IsCompleted)
                            afterRestart++;
                        break;
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        await Task.Delay(100, stop.Token); // the producer's own back-off while RabbitMQ is away
                    }
                }
            }
            connection?.Dispose();
        });

        await Until(() => bridge.Moved >= 200, "the bridge to be moving", detail: () => $"moved {bridge.Moved}");
        await rabbit.StopAsync(kill: killed); // an orderly stop, or SIGKILL: a confirmed persistent message is on disk either way
        Assert.False(producer.IsCompleted);
        await rabbit.StartAsync();
        restarted.SetResult();
        await producer.WaitAsync(stop.Token);

        var ids = confirmed.ToHashSet();
        await Until(() => ids.All(RanIds.ToHashSet().Contains), "every confirmed message to run", detail: () => $"{ids.Count} confirmed, {_runs.Count} ran, moved {bridge.Moved}, connections {bridge.Connections}");
        await Until(async () => await rabbit.CountsAsync(_queue) == (0, 0), "everything acknowledged");
        var twice = _runs.GroupBy(r => r.Id).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        Assert.Empty(twice);
        Assert.True(bridge.Connections >= 2, "the bridge connected again");
        output.WriteLine($"{ids.Count} confirmed, {_runs.Count} ran, duplicates absorbed {bridge.Duplicates}, connections {bridge.Connections}");
    }

    [Fact]
    public async Task PrintArgs_with_amqp_killed_mid_flow_and_restarted_loses_nothing_and_pushes_nothing_twice()
    {
        const int Messages = 3000;
        await PublishMany(Enumerable.Range(0, Messages).Select(i => ($"p-{i:0000}", Json("printArgs", "n", i))));
        var printed = new ConcurrentQueue<string>();
        var port = TestPrograms.FreePort().ToString();
        string[] args = ["--port", port, "--data", _folder.Path, "--amqp", rabbit.Url, "--amqp-queue", _queue];

        using (var first = await StartPrintArgs(args, printed))
        {
            await Until(() => !printed.IsEmpty, "PrintArgs to start on the messages", detail: () => first.Logged);
            first.Kill(); // SIGKILL mid-flow: while the bridge still takes messages, and the workers run them
        }
        var atKill = printed.Count;
        var left = await rabbit.CountsAsync(_queue); // what the dead bridge held unacknowledged is ready again
        output.WriteLine($"at the kill: {atKill} printed, {left.Ready} messages still in RabbitMQ");
        Assert.True(atKill < Messages && left.Ready > 0, $"the kill came after all {Messages} were taken ({atKill} printed, {left.Ready} left): not mid-flow");
        using (var second = await StartPrintArgs(args, printed))
        {
            await Until(() => printed.Distinct().Count() == Messages, "every message to be printed", detail: () => $"{printed.Distinct().Count()} printed; {second.Logged}");
            await Until(async () => await rabbit.CountsAsync(_queue) == (0, 0), "everything acknowledged");
            second.Kill();
        }

        // What was pushed, read back from the journal the process left.
        await using var journal = await LindaHost.StartAsync(new LindaOptions { Queues = ["test"], WorkerRole = "nobody-runs-jobs", SqlitePath = Path.Combine(_folder.Path, "printargs.db") });
        var stats = Assert.IsType<QueueStats>(await journal.Client.GetStatsAsync("test"));
        Assert.Equal(Messages, stats.TotalJobs); // one job per message id: nothing pushed twice
        // A job that ran before the kill but whose end was not yet written (in the open batch, or the
        // write in flight) runs again after the restart: Linda's at-least-once, not a second push. So a
        // line printed twice must have been printed once before the kill and once after; never twice on
        // one side, never three times.
        var lines = printed.ToArray();
        var before = lines[..atKill].GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        var after = lines[atKill..].GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(before.Values.Concat(after.Values), n => Assert.Equal(1, n));
        var again = before.Keys.Where(after.ContainsKey).ToArray();
        output.WriteLine($"{atKill} printed before the kill, {lines.Length - atKill} after; {again.Length} ran again after the restart (their end was not yet written at the kill)");
    }

    /// <summary>Starts the PrintArgs sample (a real process) and returns once its workers are up; each printArgs line goes to <paramref name="printed"/>.</summary>
    private async Task<CapturedProcess> StartPrintArgs(string[] args, ConcurrentQueue<string> printed)
    {
        var ready = new TaskCompletionSource();
        CapturedProcess? process = null;
        process = new CapturedProcess(TestPrograms.Dotnet("PrintArgs.dll", args), 40, (line, _) =>
        {
            if (line.StartsWith("printArgs: ", StringComparison.Ordinal))
                printed.Enqueue(line);
            else
                process!.Log(line);
            if (line.StartsWith("PrintArgs: 4 workers", StringComparison.Ordinal))
                ready.TrySetResult();
        });
        process.Start();
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromMinutes(2));
        }
        catch
        {
            output.WriteLine(process.Logged);
            process.Dispose();
            throw;
        }
        return process;
    }
}
