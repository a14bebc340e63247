using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Linda;
using Linda.Hosting;
using Linda.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// A Linda node as an application embeds it: a generic host with Akka.Hosting, remoting on a free
/// loopback port, a cluster (seeded by itself, or by another node) and <c>WithLinda</c>.
/// </summary>
public sealed class LindaHost : IAsyncDisposable
{
    private LindaHost(IHost host)
    {
        Host = host;
        System = host.Services.GetRequiredService<ActorSystem>();
        Client = host.Services.GetRequiredService<ILindaClient>();
    }

    public IHost Host { get; }

    public ActorSystem System { get; }

    public ILindaClient Client { get; }

    public Address Address => Cluster.Get(System).SelfAddress;

    /// <summary>
    /// Starts a node. Stopping the ActorSystem alone (<see cref="CrashAsync"/>) does not run coordinated
    /// shutdown, so it is a crash for the others: no leave, it just goes silent. Stopping the host
    /// (<see cref="DisposeAsync"/>) is the graceful path: coordinated shutdown, leave, hand-over.
    /// <paramref name="waitUntilUp"/> false: returns once the host runs, member or not (a node the cluster refuses).
    /// </summary>
    public static async Task<LindaHost> StartAsync(LindaOptions options, Action<JobHandlers>? handlers = null, Address? seed = null,
        string[]? roles = null, Action<IServiceCollection>? services = null, string? hocon = null, Action<AkkaConfigurationBuilder>? more = null,
        bool waitUntilUp = true)
    {
        options.Placement ??= TestPlacement;
        hocon = (hocon ?? "") + "\nakka.coordinated-shutdown.run-by-actor-system-terminate = off";
        var builder = new HostBuilder().ConfigureServices(s =>
        {
            services?.Invoke(s);
            s.AddLindaClient();
            s.AddAkka("linda", (akka, _) =>
            {
                akka.AddHocon(ConfigurationFactory.ParseString((hocon ?? "") + "\nakka.loglevel = " + (Environment.GetEnvironmentVariable("LINDA_TEST_LOGLEVEL") ?? "WARNING") + "\nakka.actor.ask-timeout = 20s"), HoconAddMode.Prepend)
                    .WithRemoting("127.0.0.1", 0)
                    .WithClustering(new ClusterOptions { Roles = roles, SeedNodes = seed is null ? null : [seed.ToString()] })
                    .WithLinda(options, handlers);
                if (seed is null)
                    akka.AddStartup((system, _) => Cluster.Get(system).Join(Cluster.Get(system).SelfAddress));
                more?.Invoke(akka);
            });
        });
        var host = builder.Build();
        await host.StartAsync();
        var node = new LindaHost(host);
        if (waitUntilUp)
            await node.WaitUntilUpAsync();
        return node;
    }

    /// <summary>
    /// The placement of hosts whose options don't set one: <c>LINDA_TEST_PLACEMENT=singleton</c> (or
    /// <c>sharded</c>) runs the specs on that placement; unset, Linda's default.
    /// </summary>
    public static QueuePlacement? TestPlacement => Environment.GetEnvironmentVariable("LINDA_TEST_PLACEMENT") switch
    {
        null or "" => null,
        var p => Enum.Parse<QueuePlacement>(p, ignoreCase: true),
    };

    /// <summary>
    /// Whether <paramref name="queue"/>'s actor runs on this node, whatever the placement: the queue
    /// answers <see cref="JobQueue.Locate"/> with itself, a local actor here. False when no answer
    /// comes within <see cref="LocateTimeout"/> (while the queue moves, a message may go to its old node).
    /// </summary>
    public async Task<bool> HostsAsync(string queue)
    {
        try
        {
            return await Client.Queue(queue).Ask<JobQueue.IReply>(JobQueue.Locate.Instance, LocateTimeout) is JobQueue.Located located
                   && located.Queue.Path.Address.HasLocalScope;
        }
        catch (AskTimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// Pushes jobs through this node's client, <paramref name="inFlight"/> at a time, until
    /// <paramref name="stop"/> is cancelled: the n-th is <paramref name="make"/>(n, "prefix-n"); the ids
    /// answered <c>Pushed</c> go to <paramref name="acknowledged"/>. A push that times out while its
    /// queue moves is not acknowledged: it may or may not be in the queue, and nothing is claimed about it.
    /// </summary>
    public async Task ProduceAsync(Func<int, string, JobQueue.Push> make, string prefix, System.Collections.Concurrent.ConcurrentDictionary<string, bool> acknowledged,
        CancellationToken stop, int inFlight = 4)
    {
        var next = 0;
        async Task Lane()
        {
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref next);
                var id = $"{prefix}-{n}";
                try
                {
                    if (await Client.PushAsync(make(n, id)) is JobQueue.Pushed)
                        acknowledged[id] = true;
                }
                catch (AskTimeoutException)
                {
                    // not acknowledged
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(_ => Lane()));
    }

    /// <summary>How long <see cref="HostsAsync"/> waits for the queue's answer.</summary>
    public static readonly TimeSpan LocateTimeout = TimeSpan.FromSeconds(2);

    private async Task WaitUntilUpAsync()
    {
        var up = new TaskCompletionSource();
        Cluster.Get(System).RegisterOnMemberUp(() => up.TrySetResult());
        await up.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>The node dies: its ActorSystem stops without leaving the cluster (no coordinated shutdown).</summary>
    public Task CrashAsync() => System.Terminate();

    public async ValueTask DisposeAsync()
    {
        // A crashed or downed node has nothing left to shut down gracefully.
        if (!System.WhenTerminated.IsCompleted)
            await Host.StopAsync();
        Host.Dispose();
    }
}
