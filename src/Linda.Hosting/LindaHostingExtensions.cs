using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.DependencyInjection;
using Akka.Hosting;
using Akka.Routing;
using Linda.Hosting.Placement;
using Linda.Persistence;
using Linda.Workers;
using Microsoft.Extensions.DependencyInjection;

namespace Linda.Hosting;

/// <summary>Marker for <c>IRequiredActor&lt;LindaQueue&gt;</c>: this node's address of the application's first queue.</summary>
public sealed class LindaQueue;

/// <summary>Embeds Linda in an Akka.Hosting application.</summary>
public static class LindaHostingExtensions
{
    /// <summary>Registers <see cref="ILindaClient"/> in DI (it finds its queues through the ActorSystem).</summary>
    public static IServiceCollection AddLindaClient(this IServiceCollection services) =>
        services.AddSingleton<ILindaClient>(sp => new LindaClient(sp.GetRequiredService<ActorSystem>()));

    /// <summary>
    /// Sets Linda up in this ActorSystem: the serializer, persistence (a SQLite file unless a connection
    /// string is given), the queues (by <see cref="LindaOptions.Placement"/>: entities of one shard region
    /// spread over the nodes of the queue role, or each a cluster singleton with a proxy on every node),
    /// and on nodes with the worker role a pool of workers per queue running the handlers registered in
    /// <paramref name="handlers"/>. At shutdown workers stop pulling and running jobs get the grace
    /// period before they are released. The ActorSystem must use the cluster provider.
    /// </summary>
    public static AkkaConfigurationBuilder WithLinda(this AkkaConfigurationBuilder builder, LindaOptions? options = null, Action<JobHandlers>? handlers = null)
    {
        options ??= new LindaOptions();
        options.Validate();
        var registered = new JobHandlers();
        handlers?.Invoke(registered);

        builder.AddHocon(ConfigurationFactory.ParseString(options.ToHocon()), HoconAddMode.Prepend);
        if (options.Tls is { } tls)
            builder.WithLindaTls(tls);
        if (options.FailoverProfile is { } profile)
            builder.AddHocon(LindaSettings.FailoverProfile(profile), HoconAddMode.Prepend);
        builder.AddHocon(LindaSettings.DefaultConfig, HoconAddMode.Append);
        if (options.ConnectionString is null)
        {
            var path = options.DatabasePath;
            SqlitePersistence.EnsureDatabase(path);
            builder.AddHocon(SqlitePersistence.Config(path), HoconAddMode.Append);
            builder.AddSetup(SqlitePersistence.DataOptions(path));
        }
        else
        {
            builder.AddHocon(SqlPersistenceConfig.For(options.ConnectionString, options.ProviderName!), HoconAddMode.Append);
        }

        builder.WithActors((system, registry, resolver) => Start(system, registry, resolver, options, registered));
        return builder;
    }

    private static void Start(ActorSystem system, IActorRegistry registry, IDependencyResolver resolver, LindaOptions options, JobHandlers handlers)
    {
        var settings = LindaSettings.Create(system);
        var cluster = Cluster.Get(system);
        var node = LindaNode.Get(system);
        var hostsQueues = options.QueueRole is null || cluster.SelfRoles.Contains(options.QueueRole);
        var runsWorkers = options.WorkerRole is null || cluster.SelfRoles.Contains(options.WorkerRole);
        var services = resolver.GetService<IServiceProvider>();

        if (hostsQueues)
            system.ActorOf(JournalWarmup.Props(settings), "linda-journal-warmup");

        // Sharded: one region for every queue (hosting on nodes of the queue role, a proxy elsewhere).
        var region = settings.Placement == QueuePlacement.Sharded ? QueueSharding.Start(system, settings, options.QueueRole) : null;
        foreach (var queue in options.QueueNames)
        {
            var partitionCount = settings.PartitionsOf(queue);
            if (partitionCount > 1 && region is null)
                throw new ConfigurationException($"queue '{queue}' has {partitionCount} partitions: partitioned queues need linda.placement = sharded");
            IActorRef address;
            IReadOnlyList<IActorRef> pullFrom;
            if (region is null)
                pullFrom = [address = StartSingleton(system, settings, queue, options.QueueRole, hostsQueues)];
            else if (partitionCount == 1)
                pullFrom = [address = Route(system, queue, region)];
            else
            {
                // A partitioned queue: a route to each partition, and the router in front of them all.
                var partitions = Enumerable.Range(0, partitionCount)
                    .Select(i => QueuePartitions.NameOf(queue, i))
                    .Select(name => (Name: name, Address: Route(system, name, region)))
                    .ToArray();
                node.AddPartitions(queue, partitions);
                pullFrom = partitions.Select(p => p.Address).ToArray();
                address = system.ActorOf(PartitionRouter.Props(queue, pullFrom, settings.AskAgain, settings.Workers.AskTimeout), "linda-queue-" + Uri.EscapeDataString(queue) + "-partitions");
            }
            node.AddQueue(queue, address);
            if (queue == options.QueueNames[0])
                registry.TryRegister<LindaQueue>(address);

            if (runsWorkers && settings.WorkerNum > 0)
            {
                var spread = new PartitionSpread();
                var pool = system.ActorOf(
                    JobWorker.Props(pullFrom, handlers, settings.Workers, services, spread: spread).WithRouter(new RoundRobinPool(settings.WorkerNum)),
                    "linda-workers-" + Uri.EscapeDataString(queue));
                node.AddWorkerPool(queue, pool, settings.WorkerNum);
            }
        }

        system.ActorOf(Props.Create(() => new LindaNode.InfoActor(node, cluster.SelfAddress)), LindaNode.ActorName);

        var grace = settings.Workers.ShutdownGrace;
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceUnbind, "linda-drain-workers", async () =>
        {
            await Task.WhenAll(node.WorkerPools.Values.Select(pool => DrainAsync(pool, grace)));
            return Akka.Done.Instance;
        });
    }

    /// <summary>The sharded placement: this node's route to the queue (or partition) <paramref name="name"/> in the region.</summary>
    private static IActorRef Route(ActorSystem system, string name, IActorRef region) =>
        system.ActorOf(QueueRoute.Props(name, region), "linda-queue-" + Uri.EscapeDataString(name) + "-route");

    /// <summary>The singleton placement: the queue's singleton manager (on nodes that host queues) and this node's proxy to it.</summary>
    private static IActorRef StartSingleton(ActorSystem system, LindaSettings settings, string queue, string? role, bool hostsQueues)
    {
        var name = "linda-queue-" + Uri.EscapeDataString(queue);
        if (hostsQueues)
        {
            system.ActorOf(ClusterSingletonManager.Props(
                JobQueueActor.Props(queue, settings),
                JobQueueActor.StopGracefully.Instance,
                ClusterSingletonManagerSettings.Create(system).WithRole(role)), name);
        }
        return system.ActorOf(ClusterSingletonProxy.Props(
            "/user/" + name,
            ClusterSingletonProxySettings.Create(system).WithRole(role).WithBufferSize(settings.ProxyBufferSize)), name + "-proxy");
    }

    // How long a pool has to list its workers, and how long past the grace period a worker has to say it
    // drained (it releases a job still running at the end of the grace period, then answers).
    private static readonly TimeSpan RouteesTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DrainedMargin = TimeSpan.FromSeconds(5);

    /// <summary>Stops a pool's workers pulling and waits until each has no job (at most the grace period, then they release it).</summary>
    public static async Task DrainAsync(IActorRef pool, TimeSpan grace)
    {
        var routees = await pool.Ask<Routees>(GetRoutees.Instance, RouteesTimeout);
        await Task.WhenAll(routees.Members.Select(r => r.Ask(JobWorker.Drain.Instance, grace + DrainedMargin)));
    }
}
