using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
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
/// The cluster as the API and the CLI show it, on two real nodes on loopback (Akka's default cluster
/// profile): node A is the web app and hosts the queue (role "queues"), node B only runs workers (role
/// "workers"). Each node's linda-node actor is asked over remoting what it runs; the queue is asked
/// where it runs; a job reserved by B's worker names B as its holder's node.
/// </summary>
[Collection(WebCollection.Name)]
public sealed class ClusterApiSpec : IAsyncLifetime
{
    private const string Q = "spread";
    private const int WorkersOnB = 3;
    private readonly TempFolder _folder = new();
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _running = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication _a = null!;
    private IHost _b = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        LindaOptions Options(string file) => new() { Queues = [Q], QueueRole = "queues", WorkerRole = "workers", WorkerNum = WorkersOnB, SqlitePath = _folder.File(file) };
        (_a, var dashboard) = await LindaWebApp.StartAsync("spread", Options("linda.db"), roles: ["queues"]);
        _http = new HttpClient { BaseAddress = new Uri(dashboard, "api/") };

        var seed = Cluster.Get(_a.Services.GetRequiredService<ActorSystem>()).SelfAddress;
        _b = Host.CreateDefaultBuilder().ConfigureServices(services => services.AddAkka("spread", (akka, _) => akka
            .AddHocon(Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = WARNING"), HoconAddMode.Prepend)
            .WithRemoting("127.0.0.1", 0)
            .WithClustering(new ClusterOptions { Roles = ["workers"], SeedNodes = [seed.ToString()] })
            .WithLinda(Options("b.db"), handlers => handlers.Register("hold", async context =>
            {
                _running.TrySetResult(context.Job.Id);
                await _release.Task;
            })))).Build();
        await _b.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _release.TrySetResult();
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

    private async Task<JsonElement> Get(string path)
    {
        using var response = await _http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task Each_node_shows_its_roles_the_queues_it_hosts_and_its_workers_and_a_reserved_job_its_holders_node()
    {
        var addressA = Cluster.Get(_a.Services.GetRequiredService<ActorSystem>()).SelfAddress.ToString();
        var addressB = Cluster.Get(_b.Services.GetRequiredService<ActorSystem>()).SelfAddress.ToString();

        JsonElement cluster = default;
        await Conditions.Until(async () =>
        {
            cluster = await Get("cluster");
            return cluster.GetProperty("members").EnumerateArray().Count(m => m.GetProperty("status").GetString() == "Up") == 2
                   && cluster.GetProperty("members").EnumerateArray().All(m => m.GetProperty("workers").ValueKind == JsonValueKind.Array);
        }, "two Up nodes that answer what they run", TimeSpan.FromSeconds(60), () => cluster.ToString());
        var members = cluster.GetProperty("members").EnumerateArray().ToDictionary(m => m.GetProperty("address").GetString()!);
        Assert.Equal(addressA, cluster.GetProperty("self").GetString());

        var a = members[addressA];
        Assert.True(a.GetProperty("self").GetBoolean());
        Assert.Equal(["queues"], a.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal([Q], a.GetProperty("queues").EnumerateArray().Select(q => q.GetString()));
        Assert.Equal(0, a.GetProperty("workers").GetArrayLength()); // A runs no workers

        var b = members[addressB];
        Assert.False(b.GetProperty("self").GetBoolean());
        Assert.True(b.GetProperty("reachable").GetBoolean());
        Assert.Equal(["workers"], b.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(0, b.GetProperty("queues").GetArrayLength());
        var pool = Assert.Single(b.GetProperty("workers").EnumerateArray());
        Assert.Equal((Q, WorkersOnB), (pool.GetProperty("queue").GetString(), pool.GetProperty("workers").GetInt32()));

        var queue = Assert.Single((await Get("queues")).EnumerateArray());
        Assert.Equal(addressA, queue.GetProperty("node").GetString());

        // B's worker takes the job: its view names B as the lease holder's node.
        var client = _a.Services.GetRequiredService<ILindaClient>();
        Assert.IsType<Pushed>(await client.PushAsync(new Push(Q, JobPayload.FromJson("hold", "[]")) { Id = "held" }));
        Assert.Equal("held", await _running.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        var job = await Get($"jobs/{Q}/held");
        Assert.Equal("reserved", job.GetProperty("state").GetString());
        Assert.Equal(addressB, job.GetProperty("holderNode").GetString());
        Assert.StartsWith(addressB + "/user/linda-workers-", job.GetProperty("holder").GetString());

        // The CLI's table of the same.
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Assert.Equal(0, await Cli.Program.RunAsync(["cluster", "--url", _http.BaseAddress!.ToString()[..^"api/".Length]], stdout, stderr));
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith(addressA + " (this)", StringComparison.Ordinal) && l.Contains(" queues ") && l.Contains($" {Q} "));
        Assert.Contains(lines, l => l.StartsWith(addressB, StringComparison.Ordinal) && l.Contains(" workers ") && l.TrimEnd().EndsWith($"{Q}:{WorkersOnB}"));

        _release.SetResult();
        await Conditions.Until(async () => await client.GetJobAsync(Q, "held") is NotFound, "the held job completed");
    }
}
