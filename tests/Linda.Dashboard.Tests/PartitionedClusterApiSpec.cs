using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Linda.Hosting;
using Linda.Dashboard.Tests.Infrastructure;
using Linda.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Dashboard.Tests;

/// <summary>
/// A partitioned queue spread over two real nodes on loopback that both host queues (Akka's default
/// cluster profile, the queues' rebalance every second): node A is the web app, node B joins it, and
/// the sharding coordinator moves a partition to B. Where each partition runs is read from each node's
/// shard region (which asks the queues nothing); the API, the cluster view and the CLI must say the
/// same, and never the node of the queue's router (A). Both nodes share one SQLite file (one process,
/// one machine), as a cluster shares its database; jobs are pushed once the partitions have settled.
/// </summary>
[Collection(WebCollection.Name)]
public sealed class PartitionedClusterApiSpec : IAsyncLifetime
{
    private const string Q = "orders";
    private const int P = 3;
    // The queues' shard region (README, "Running a cluster": /system/sharding/linda-queue).
    private const string QueueRegion = "linda-queue";
    private static readonly TimeSpan SpreadBound = TimeSpan.FromSeconds(90);
    private static readonly string[] Partitions = [.. Enumerable.Range(0, P).Select(i => QueuePartitions.NameOf(Q, i))];

    private readonly TempFolder _folder = new();
    private WebApplication _a = null!;
    private IHost _b = null!;
    private HttpClient _http = null!;

    private LindaOptions Options(string file) => new()
    {
        Queues = [Q],
        Partitions = new Dictionary<string, int> { [Q] = P },
        QueueRole = "queues",
        WorkerRole = "no-workers-here", // the jobs stay where they were pushed
        SqlitePath = _folder.File(file),
    };

    private const string Hocon = "linda.sharding.rebalance-interval = 1s";

    public async Task InitializeAsync()
    {
        (_a, var dashboard) = await LindaWebApp.StartAsync("spread", Options("linda.db"), roles: ["queues"], hocon: Hocon);
        _http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(dashboard, "api/") };
        var seed = Cluster.Get(SystemOf(_a.Services)).SelfAddress;
        _b = Host.CreateDefaultBuilder().ConfigureServices(services => services.AddAkka("spread", (akka, _) => akka
            .AddHocon(Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = WARNING\n" + Hocon), HoconAddMode.Prepend)
            .WithRemoting("127.0.0.1", 0)
            .WithClustering(new ClusterOptions { Roles = ["queues"], SeedNodes = [seed.ToString()] })
            .WithLinda(Options("linda.db")))).Build();
        await _b.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_b is not null)
        {
            await _b.StopAsync();
            _b.Dispose();
        }
        if (_a is not null)
        {
            await _a.StopAsync();
            await _a.DisposeAsync();
        }
        _folder.Dispose();
    }

    private static ActorSystem SystemOf(IServiceProvider services) => services.GetRequiredService<ActorSystem>();

    private async Task<JsonElement> Get(string path)
    {
        using var response = await _http.GetAsync(path);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {body}");
        return body;
    }

    /// <summary>The partitions each node's shard region runs now, by the node's address.</summary>
    private async Task<Dictionary<string, string[]>> PlacementAsync()
    {
        var placement = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var system in new[] { SystemOf(_a.Services), SystemOf(_b.Services) })
        {
            var state = await ClusterSharding.Get(system).ShardRegion(QueueRegion).Ask<CurrentShardRegionState>(GetShardRegionState.Instance, Conditions.Bound);
            placement[Cluster.Get(system).SelfAddress.ToString()] = state.Shards.SelectMany(s => s.EntityIds).Where(Partitions.Contains).Order(StringComparer.Ordinal).ToArray();
        }
        return placement;
    }

    private static Dictionary<string, string> NodesOf(JsonElement orders) =>
        orders.GetProperty("partitions").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!,
            p => p.TryGetProperty("node", out var node) && node.ValueKind == JsonValueKind.String ? node.GetString()! : "");

    [Fact]
    public async Task Each_partition_is_shown_on_the_node_it_runs_on_and_the_queue_claims_no_node()
    {
        var addressA = Cluster.Get(SystemOf(_a.Services)).SelfAddress.ToString();
        var addressB = Cluster.Get(SystemOf(_b.Services)).SelfAddress.ToString();

        // The partitions spread over both nodes, and the API says where each runs. (Asking the API
        // reaches every partition, which starts it where its shard now is.)
        Dictionary<string, string[]> placement = [];
        JsonElement orders = default;
        await Conditions.Until(async () =>
        {
            orders = (await Get("queues"))[0];
            placement = await PlacementAsync();
            var where = placement.SelectMany(n => n.Value.Select(p => (Partition: p, Node: n.Key))).ToArray();
            return placement.Values.All(p => p.Length > 0) && where.Length == P && !orders.TryGetProperty("error", out _)
                   && where.All(w => NodesOf(orders)[w.Partition] == w.Node);
        }, "the partitions to run on both nodes, and the API to say where", SpreadBound,
            () => $"regions: {string.Join("; ", placement.Select(p => $"{p.Key}: {string.Join(",", p.Value)}"))}; api: {orders}");

        Assert.Equal(JsonValueKind.Null, orders.GetProperty("node").ValueKind); // not A, where the queue's router is
        Assert.Equal(new[] { addressA, addressB }.Order(StringComparer.Ordinal), NodesOf(orders).Values.Distinct().Order(StringComparer.Ordinal));

        // The cluster view lists each partition under its node, and the queue under none.
        var cluster = await Get("cluster");
        var members = cluster.GetProperty("members").EnumerateArray().ToDictionary(m => m.GetProperty("address").GetString()!);
        Assert.Equal(placement[addressA], members[addressA].GetProperty("queues").EnumerateArray().Select(q => q.GetString()));
        Assert.Equal(placement[addressB], members[addressB].GetProperty("queues").EnumerateArray().Select(q => q.GetString()));
        Assert.Equal(0, cluster.GetProperty("unlocated").GetArrayLength());

        // Jobs pushed through A, one a partition: each partition counts its own, wherever it runs, and they add up.
        var client = _a.Services.GetRequiredService<ILindaClient>();
        var ids = new List<string>();
        for (var i = 0; i < 2 * P; i++)
            ids.Add(Assert.IsType<Pushed>(await client.PushAsync(new Push(Q, JobPayload.Create("ship", i)))).JobId);
        await Conditions.Until(async () => (orders = await Get($"queues/{Q}")).GetProperty("ready").GetInt32() == 2 * P, "the six jobs counted",
            SpreadBound, () => orders.ToString());
        var partitions = orders.GetProperty("partitions").EnumerateArray().ToArray();
        Assert.All(partitions, p => Assert.Equal(2, p.GetProperty("ready").GetInt32()));
        Assert.Equal(2 * P, partitions.Sum(p => p.GetProperty("totalJobs").GetInt64()));

        // A job of a partition on B opens through A's dashboard, naming its partition.
        var onB = placement[addressB][0];
        var id = ids.First(j => QueuePartitions.NameOf(Q, QueuePartitions.NamedBy(j, P)!.Value) == onB);
        var job = await Get($"jobs/{Q}/{id}");
        Assert.Equal((id, onB, "ready"), (job.GetProperty("id").GetString(), job.GetProperty("queue").GetString(), job.GetProperty("state").GetString()));

        // The CLI: B's partition's row ends with B's address, the queue's with its partitions.
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Assert.Equal(0, await Cli.Program.RunAsync(["queues", "--url", _http.BaseAddress!.ToString()[..^"api/".Length]], stdout, stderr));
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith(Q + " ", StringComparison.Ordinal) && l.EndsWith($"{P} partitions", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith($"  {onB} ", StringComparison.Ordinal) && l.EndsWith(addressB, StringComparison.Ordinal));
    }
}
