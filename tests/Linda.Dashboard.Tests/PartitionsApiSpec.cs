using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Linda.Hosting;
using Linda.Dashboard.Tests.Infrastructure;
using Linda.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Dashboard.Tests;

/// <summary>
/// A partitioned queue (three partitions, <c>orders~0..2</c>) beside a queue of one actor, in the
/// dashboard's JSON API and the linda CLI, on a real one-node cluster (SQLite file; no workers, so jobs
/// stay where they were pushed) behind a real Kestrel server: the queue's entry has its partitions,
/// each asked directly, whose counts add up to the queue's; a job of a partition opens by its id; the
/// cluster view lists the partitions where they run, not the router; the throughput history samples
/// the queue as one; a partition that doesn't answer is shown as such.
/// </summary>
[Collection(WebCollection.Name)]
public sealed class PartitionsApiSpec : IAsyncLifetime
{
    private const string Q = "orders";
    private const string Plain = "plain";
    private const int P = 3;
    private static readonly string[] Partitions = [.. Enumerable.Range(0, P).Select(i => QueuePartitions.NameOf(Q, i))];
    private static readonly string[] Counted = ["ready", "urgent", "delayed", "reserved", "buried", "waiting", "totalJobs", "completed", "failures", "cancelled", "leaseTimeouts"];

    private readonly TempFolder _folder = new();
    private WebApplication _app = null!;
    private HttpClient _http = null!;
    private ILindaClient _linda = null!;
    private string _self = "";

    private async Task StartAsync(Func<ILindaClient, ILindaClient>? wrap = null)
    {
        var options = new LindaOptions
        {
            Queues = [Q, Plain],
            Partitions = new Dictionary<string, int> { [Q] = P },
            WorkerRole = "no-workers-here",
            SqlitePath = _folder.File("linda.db"),
        };
        (_app, var dashboard) = await LindaWebApp.StartAsync("parts", options, services: wrap is null ? null
            : s => s.AddSingleton(sp => wrap(new LindaClient(sp.GetRequiredService<ActorSystem>()))));
        _http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(dashboard, "api/") };
        _linda = _app.Services.GetRequiredService<ILindaClient>();
        _self = Cluster.Get(_app.Services.GetRequiredService<ActorSystem>()).SelfAddress.ToString();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        _folder.Dispose();
    }

    private async Task<JsonElement> Get(string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await _http.GetAsync(path);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(expected == response.StatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return body;
    }

    private async Task<string> PushAsync(Push push) => Assert.IsType<Pushed>(await _linda.PushAsync(push)).JobId;

    private static Push Job(string? id = null) => new(Q, JobPayload.Create("ship", 1)) { Id = id };

    /// <summary>
    /// Fills the partitioned queue: nine jobs in turn (three a partition), a delayed one, one of its own id
    /// pushed by a key to a partition its id doesn't hash to, and one buried. Returns the ids in turn and the own id.
    /// </summary>
    private async Task<(List<string> Ids, string Own, int OwnPartition)> FillAsync()
    {
        var ids = new List<string>();
        for (var i = 0; i < 9; i++)
            ids.Add(await PushAsync(Job()));
        Assert.IsType<Pushed>(await _linda.LaterAsync(Q, JobPayload.Create("ship", 2), TimeSpan.FromHours(1)));
        var keyed = QueuePartitions.OfKey("tenant-7", P);
        var own = Enumerable.Range(0, 100).Select(i => $"own-{i}").First(id => QueuePartitions.OfKey(id, P) != keyed);
        Assert.Equal(own, await PushAsync(Job(own) with { ConcurrencyKey = "tenant-7" }));
        var reserved = Assert.IsType<Reserved>(await _linda.SendAsync(Q, new ReserveJob(ids[4])));
        Assert.IsType<Buried>(await _linda.SendAsync(Q, new Bury(ids[4], reserved.Token, "no stock")));
        return (ids, own, keyed);
    }

    private static long Count(JsonElement entry, string field) => entry.GetProperty(field).GetInt64();

    [Fact]
    public async Task A_partitioned_queue_has_its_partitions_whose_counts_add_up_to_it_and_a_job_of_a_partition_opens()
    {
        await StartAsync();
        var (ids, own, ownPartition) = await FillAsync();

        var queues = await Get("queues");
        Assert.Equal([Q, Plain], queues.EnumerateArray().Select(q => q.GetProperty("name").GetString()));
        var orders = queues[0];
        Assert.Equal(JsonValueKind.Null, orders.GetProperty("node").ValueKind); // its partitions run on nodes of their own
        var partitions = orders.GetProperty("partitions").EnumerateArray().ToArray();
        Assert.Equal(Partitions, partitions.Select(p => p.GetProperty("name").GetString()));
        Assert.All(partitions, p => Assert.Equal(_self, p.GetProperty("node").GetString()));
        Assert.All(partitions, p => Assert.False(p.TryGetProperty("partitions", out _)));
        foreach (var field in Counted)
            Assert.True(partitions.Sum(p => Count(p, field)) == Count(orders, field), $"{field}: the partitions' {string.Join(" + ", partitions.Select(p => Count(p, field)))} is not the queue's {Count(orders, field)}");

        // The counts are the queue's, as the queue itself (its router) and each partition answer them.
        var total = Assert.IsType<QueueStats>(await _linda.GetStatsAsync(Q));
        Assert.Equal((11, 10, 1, 1, 11L), ((int)Count(orders, "totalJobs"), total.Ready + total.Delayed, total.Delayed, total.Buried, total.TotalJobs));
        Assert.Equal((total.Ready, total.Delayed, total.Buried), ((int)Count(orders, "ready"), (int)Count(orders, "delayed"), (int)Count(orders, "buried")));
        for (var i = 0; i < P; i++)
        {
            var stats = Assert.IsType<QueueStats>(await _linda.GetStatsAsync(Partitions[i]));
            Assert.Equal((stats.Ready, stats.Delayed, stats.Buried, stats.TotalJobs),
                ((int)Count(partitions[i], "ready"), (int)Count(partitions[i], "delayed"), (int)Count(partitions[i], "buried"), Count(partitions[i], "totalJobs")));
        }
        Assert.Equal(1, Count(partitions[QueuePartitions.NamedBy(ids[4], P)!.Value], "buried"));

        // A queue of one actor is as it was: its node, no partitions key.
        var plain = queues[1];
        Assert.Equal(_self, plain.GetProperty("node").GetString());
        Assert.False(plain.TryGetProperty("partitions", out _));

        // One queue, and one partition on its own.
        var one = await Get($"queues/{Q}");
        Assert.Equal(Partitions, one.GetProperty("partitions").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        Assert.Equal(11, Count(one, "totalJobs"));
        var second = await Get($"queues/{Uri.EscapeDataString(Partitions[1])}");
        Assert.Equal((Partitions[1], _self), (second.GetProperty("name").GetString(), second.GetProperty("node").GetString()));
        Assert.False(second.TryGetProperty("partitions", out _));

        // A job of a partition: by the id naming its partition, or by its own id, under the queue; its partition is its queue.
        var named = ids[5];
        var job = await Get($"jobs/{Q}/{named}");
        Assert.Equal((named, Partitions[QueuePartitions.NamedBy(named, P)!.Value]), (job.GetProperty("id").GetString(), job.GetProperty("queue").GetString()));
        job = await Get($"jobs/{Q}/{own}");
        Assert.Equal(Partitions[ownPartition], job.GetProperty("queue").GetString());
        Assert.Equal("buried", (await Get($"jobs/{Q}/{ids[4]}")).GetProperty("state").GetString());
        var namedPartition = QueuePartitions.NameOf(Q, QueuePartitions.NamedBy(named, P)!.Value);
        Assert.Equal(named, (await Get($"jobs/{Uri.EscapeDataString(namedPartition)}/{named}")).GetProperty("id").GetString()); // or under its partition
        Assert.Equal("not-found", (await Get($"jobs/{Q}/p1.999", HttpStatusCode.NotFound)).GetProperty("error").GetString());

        // The ready listing pages through every partition, each job once, its cursor naming the partition.
        var listed = new List<(string Id, string Queue)>();
        string? cursor = null;
        do
        {
            var page = await Get($"queues/{Q}/jobs?state=ready&limit=4" + (cursor is null ? "" : "&after=" + Uri.EscapeDataString(cursor)));
            Assert.Equal(9, page.GetProperty("total").GetInt32());
            listed.AddRange(page.GetProperty("jobs").EnumerateArray().Select(j => (j.GetProperty("id").GetString()!, j.GetProperty("queue").GetString()!)));
            cursor = page.GetProperty("next").GetString();
            if (cursor is not null)
                Assert.Matches("^[0-2]:", cursor); // the partition it goes on in
            Assert.True(listed.Count <= 9, "the listing never ends");
        }
        while (cursor is not null);
        Assert.Equal(ids.Where(id => id != ids[4]).Append(own).Order(StringComparer.Ordinal), listed.Select(l => l.Id).Order(StringComparer.Ordinal));
        Assert.All(listed.Where(l => l.Id != own), l => Assert.Equal(QueuePartitions.NameOf(Q, QueuePartitions.NamedBy(l.Id, P)!.Value), l.Queue));

        // The cluster view: the node hosts the partitions (each asked where it runs) and the plain queue, not the queue's router.
        var cluster = await Get("cluster");
        var member = Assert.Single(cluster.GetProperty("members").EnumerateArray());
        Assert.Equal([.. Partitions, Plain], member.GetProperty("queues").EnumerateArray().Select(q => q.GetString()));
        Assert.Equal(0, cluster.GetProperty("unlocated").GetArrayLength());
    }

    [Fact]
    public async Task The_throughput_history_samples_a_partitioned_queue_as_one_queue()
    {
        await StartAsync();
        JsonElement history = default;
        async Task<bool> Sampled(Func<JsonElement, bool> point)
        {
            history = await Get("history");
            return history.GetProperty("queues").TryGetProperty(Q, out var points) && points.EnumerateArray().Any(point);
        }
        await Conditions.Until(() => Sampled(_ => true), "a first point of the partitioned queue", TimeSpan.FromSeconds(60), () => history.ToString());

        // Pushes after it show in a later point (six jobs over a two-second interval): the queue's stats are its partitions' added up.
        for (var i = 0; i < 6; i++)
            await PushAsync(Job());
        await Conditions.Until(() => Sampled(p => p.GetProperty("pushed").GetDouble() > 0), "a point with the pushes", TimeSpan.FromSeconds(60), () => history.ToString());
        Assert.DoesNotContain(history.GetProperty("queues").EnumerateObject(), q => q.Name.Contains(QueuePartitions.Separator));
    }

    private const string Silent = "orders~1";

    [Fact]
    public async Task A_partition_that_does_not_answer_in_time_is_shown_with_its_error_beside_the_others()
    {
        await StartAsync(client => new SilentStats(client, Silent));
        await FillAsync();

        var queues = await Get("queues");
        var orders = queues[0];
        Assert.Equal(Q, orders.GetProperty("name").GetString());
        Assert.Equal("unavailable", orders.GetProperty("error").GetProperty("error").GetString());
        Assert.Contains(Silent, orders.GetProperty("error").GetProperty("message").GetString());
        var partitions = orders.GetProperty("partitions").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        Assert.Equal(Partitions, partitions.Keys);
        Assert.Equal("unavailable", partitions[Silent].GetProperty("error").GetProperty("error").GetString());
        Assert.False(partitions[Silent].TryGetProperty("ready", out _));
        Assert.Equal(_self, partitions["orders~0"].GetProperty("node").GetString());
        Assert.Equal(JsonValueKind.Number, partitions["orders~2"].GetProperty("ready").ValueKind);
        Assert.Equal(_self, queues[1].GetProperty("node").GetString()); // the other queue is not held up

        Assert.Equal("unavailable", (await Get($"queues/{Q}", HttpStatusCode.ServiceUnavailable)).GetProperty("error").GetString());
    }

    /// <summary>The app's client, but one partition's stats never come (as from a node that went silent).</summary>
    private sealed class SilentStats(ILindaClient inner, string silent) : ILindaClient
    {
        public IReadOnlyCollection<string> Queues => inner.Queues;

        public IReadOnlyList<string> PartitionsOf(string queue) => inner.PartitionsOf(queue);

        public IActorRef Queue(string name) => inner.Queue(name);

        public async Task<IReply> SendAsync(string queue, ICommand command, CancellationToken cancellationToken = default)
        {
            if (queue == silent && command is GetStats)
                await Task.Delay(Timeout.Infinite, cancellationToken);
            return await inner.SendAsync(queue, command, cancellationToken);
        }
    }

    // ---------------------------------------------------------------- the linda CLI against the same server

    private async Task<(int Code, string Out, string Err)> Linda(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var code = await Cli.Program.RunAsync([.. args, "--url", _http.BaseAddress!.ToString()[..^"api/".Length]], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string[] Cells(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task The_cli_shows_a_partitioned_queues_partitions_in_its_tables_and_json()
    {
        await StartAsync();
        var (ids, _, _) = await FillAsync();
        var perPartition = new Dictionary<string, QueueStats>();
        foreach (var p in Partitions)
            perPartition[p] = Assert.IsType<QueueStats>(await _linda.GetStatsAsync(p));

        // linda queues: the queue's row (on its partitions), its partitions indented under it, then the next queue.
        var (code, text, err) = await Linda("queues");
        Assert.True(code == 0, err);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var at = Array.FindIndex(lines, l => l.StartsWith(Q + " ", StringComparison.Ordinal));
        Assert.True(at > 0, text);
        Assert.Equal([Q, "9", "0", "1", "0", "1", "0", "11"], Cells(lines[at])[..8]);
        Assert.EndsWith($"{P} partitions", lines[at]);
        for (var i = 0; i < P; i++)
        {
            var row = lines[at + 1 + i];
            var stats = perPartition[Partitions[i]];
            Assert.StartsWith("  " + Partitions[i] + " ", row);
            Assert.Equal([Partitions[i], $"{stats.Ready}", $"{stats.Urgent}", $"{stats.Delayed}", $"{stats.Reserved}", $"{stats.Buried}", $"{stats.Waiting}", $"{stats.TotalJobs}"],
                Cells(row)[..8]);
            Assert.EndsWith(_self, row); // where it runs
        }
        Assert.StartsWith(Plain + " ", lines[at + 1 + P]);
        Assert.EndsWith(_self, lines[at + 1 + P]);

        // linda stats QUEUE: the queue and each partition's counts, then its commands.
        (code, text, err) = await Linda("stats", Q);
        Assert.True(code == 0, err);
        lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Partitions.Select(p => "  " + p), lines.Where(l => l.StartsWith("  ", StringComparison.Ordinal)).Select(l => "  " + Cells(l)[0]));
        Assert.Contains(lines, l => Cells(l) is ["push", "11"]);

        // --json passes the partitions through as the API gives them.
        (code, text, err) = await Linda("queues", "--json");
        Assert.True(code == 0, err);
        using (var doc = JsonDocument.Parse(text))
        {
            var orders = doc.RootElement[0];
            Assert.Equal(JsonValueKind.Null, orders.GetProperty("node").ValueKind);
            Assert.Equal(Partitions, orders.GetProperty("partitions").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
            Assert.Equal(perPartition.Values.Select(s => s.Ready), orders.GetProperty("partitions").EnumerateArray().Select(p => p.GetProperty("ready").GetInt32()));
            Assert.False(doc.RootElement[1].TryGetProperty("partitions", out _));
        }

        // linda cluster: the node hosts the partitions; linda job: a job of a partition names it.
        (code, text, err) = await Linda("cluster");
        Assert.True(code == 0, err);
        Assert.Contains($" {string.Join(",", Partitions)},{Plain} ", text);
        (code, text, err) = await Linda("job", Q, ids[2]);
        Assert.True(code == 0, err);
        Assert.Contains(text.Split('\n'), l => Cells(l) is ["queue", var queue] && queue == QueuePartitions.NameOf(Q, QueuePartitions.NamedBy(ids[2], P)!.Value));
    }
}
