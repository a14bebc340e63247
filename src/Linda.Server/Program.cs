// Linda as a server of its own: a Linda node whose tubes are served on the beanstalkd port.
// Alone it keeps its jobs in an SQLite file under --data; with --seed it joins a cluster, and with
// --postgres the cluster shares one PostgreSQL journal, so every node serves the same durable tubes, the
// tubes' queues spread over the nodes, and a dead node's tubes move to the survivors. With --http-port it also serves the dashboard's JSON
// API, every tube a queue; with --redis it takes the Go Linda's Redis jobs into the tubes of the same
// names, with --amqp the messages of RabbitMQ queues. See ServerArgs.Usage for the options.
using System.Net;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Cluster.Tools.Singleton;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Linda;
using Linda.Beanstalk;
using Linda.Dashboard;
using Linda.Hosting;
using Linda.Persistence;
using Linda.RabbitMQ;
using Linda.Redis;
using Linda.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

ServerArgs options;
try
{
    options = ServerArgs.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

// With --http-port the host is a web application: Kestrel on that one address, the dashboard under /linda.
// Without it, no HTTP listener at all.
var http = options.HttpPort > 0 ? new IPEndPoint(options.HttpHost, options.HttpPort) : null;
IHostApplicationBuilder builder;
if (http is not null)
{
    var web = WebApplication.CreateSlimBuilder();
    web.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(http));
    web.Services.AddLindaDashboard();
    builder = web;
}
else
    builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
builder.Services.AddSingleton(options);
var frontEnd = new BeanstalkServerOptions { Port = options.Port, Address = options.Bind, MaxJobSize = options.MaxJobSize };
builder.Services.AddSingleton(frontEnd);
builder.Services.AddAkka("linda", (akka, _) =>
{
    akka.ConfigureLoggers(loggers =>
    {
        loggers.LogLevel = Akka.Event.LogLevel.InfoLevel;
        loggers.AddLoggerFactory();
    });
    if (LindaSettings.FailoverProfile(options.Profile) is { IsEmpty: false } profile)
        akka.AddHocon(profile, HoconAddMode.Prepend);
    akka.AddHocon($"linda.queue.verdict-reply = {(options.EarlyVerdicts ? "early" : "durable")}", HoconAddMode.Prepend);
    if (options.Amqp?.OutcomeExchange is not null)
        akka.AddHocon("linda.queue.outcome-events = on", HoconAddMode.Prepend); // the tubes tell the bridge their outcomes
    if (options.ExtraConfig is { } extra)
        akka.AddHocon(extra, HoconAddMode.Prepend); // over everything above
    akka.AddHocon(BeanstalkSerializer.Config, HoconAddMode.Append);
    akka.AddHocon(LindaSettings.DefaultConfig, HoconAddMode.Append);
    if (options.Postgres is { } postgres)
        akka.AddHocon(SqlPersistenceConfig.For(postgres, "PostgreSQL.15"), HoconAddMode.Append);
    else
    {
        var path = Path.GetFullPath(Path.Combine(options.Data, "linda.db"));
        SqlitePersistence.EnsureDatabase(path);
        akka.AddHocon(SqlitePersistence.Config(path), HoconAddMode.Append);
        akka.AddSetup(SqlitePersistence.DataOptions(path));
    }
    akka.WithRemoting(options.ClusterHost.ToString(), options.ClusterPort);
    if (options.Tls is { } tls)
        akka.WithLindaTls(tls); // mutual TLS between the nodes
    akka.WithClustering(new ClusterOptions { SeedNodes = [.. options.Seeds] });
    akka.WithActors((system, registry) =>
    {
        var settings = LindaSettings.Create(system);
        if (options.Seeds.Count == 0)
            Cluster.Get(system).Join(Cluster.Get(system).SelfAddress); // no seeds: the node seeds itself
        system.ActorOf(JournalWarmup.Props(settings), "linda-journal-warmup");
        registry.Register<TubeHub>(settings.Placement == QueuePlacement.Sharded
            ? StartShardedTubes(system, settings, options, frontEnd)
            : StartTubeHub(system, settings, options));
    });
});

// After Akka's own hosted service, so the port opens once the node runs.
builder.Services.AddSingleton<BeanstalkService>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<BeanstalkService>());
// Every tube is a queue for the dashboard (and anything else that asks for an ILindaClient).
builder.Services.AddSingleton<ILindaClient>(sp =>
    new TubeClient(sp.GetRequiredService<ActorSystem>(), sp.GetRequiredService<IRequiredActor<TubeHub>>().ActorRef, frontEnd));
// The brokers' bridges start after the port and stop before it (hosted services stop in reverse).
if (options.Redis is { } redis)
    builder.Services.AddHostedService(sp => BridgeService.Redis(sp, redis));
if (options.Amqp is { } amqp)
    builder.Services.AddHostedService(sp => BridgeService.RabbitMq(sp, amqp));

using var host = builder is WebApplicationBuilder webBuilder ? WithDashboard(webBuilder.Build()) : ((HostApplicationBuilder)builder).Build();
try
{
    await host.StartAsync(); // Kestrel last, after the node and the beanstalkd port
}
catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException)
{
    var ports = http is null ? "" : $", HTTP port {http}";
    Console.Error.WriteLine($"linda: can't start (beanstalkd port {options.Bind}:{options.Port}{ports}, data {options.Data}): {e.Message}");
    return 1;
}
if (http is not null)
    Console.Out.WriteLine($"dashboard: http://{http}/linda");
// One line on stdout for scripts that start the server: every port listens.
Console.Out.WriteLine($"LISTENING {host.Services.GetRequiredService<BeanstalkService>().Port}");
Console.Out.Flush();
// SIGUSR1 puts the server in drain mode, as it does beanstalkd.
using var drain = RuntimeInformation.IsOSPlatform(OSPlatform.Windows)
    ? null
    : PosixSignalRegistration.Create((PosixSignal)10, ctx =>
    {
        ctx.Cancel = true;
        host.Services.GetRequiredService<BeanstalkService>().Drain();
    });
await host.WaitForShutdownAsync();
return 0;

static IHost WithDashboard(WebApplication app)
{
    app.MapLindaDashboard("/linda");
    return app;
}

// The sharded placement (the default): every tube's queue an entity of the queues' shard region, spread
// over the nodes; the tube directory (name -> number, persisted) a cluster singleton beside them, under
// the hub's name and persistence id; and this node's hub, which answers the front end from what it
// knows of the directory and routes each tube to its queue through the region.
static IActorRef StartShardedTubes(ActorSystem system, LindaSettings settings, ServerArgs options, BeanstalkServerOptions frontEnd)
{
    var region = QueueRegion.Start(system, TubeHub.ForTubes(settings, options.MaxJobSize));
    var directory = StartSingleton(system, settings, TubeDirectory.Props(settings));
    return system.ActorOf(ShardedTubes.Props(directory, tube => QueueRegion.Route(tube, region), frontEnd.HubAttempt), "linda-beanstalk-tubes");
}

// The singleton placement: one hub, the directory and every tube's queue, a cluster singleton.
static IActorRef StartTubeHub(ActorSystem system, LindaSettings settings, ServerArgs options) =>
    StartSingleton(system, settings, TubeHub.Props(settings, options.MaxJobSize));

// The singleton /user/linda-beanstalk (a hub, or the directory: both end with HandOver), and this node's proxy to it.
static IActorRef StartSingleton(ActorSystem system, LindaSettings settings, Props props)
{
    system.ActorOf(ClusterSingletonManager.Props(props, BeanstalkProtocol.HandOver.Instance, ClusterSingletonManagerSettings.Create(system)), "linda-beanstalk");
    return system.ActorOf(ClusterSingletonProxy.Props(
        "/user/linda-beanstalk",
        ClusterSingletonProxySettings.Create(system).WithBufferSize(settings.ProxyBufferSize)), "linda-beanstalk-proxy");
}

namespace Linda.Server
{
    /// <summary>The beanstalkd port, open while the host runs; its tubes are the node's hub's (<see cref="ShardedTubes"/>, or the proxy of the singleton <see cref="TubeHub"/>).</summary>
    internal sealed class BeanstalkService(ActorSystem system, IRequiredActor<TubeHub> hub, ServerArgs options, BeanstalkServerOptions frontEnd, ILogger<BeanstalkService> log) : IHostedService
    {
        private BeanstalkServer? _server;

        /// <summary>The port it listens on, once started.</summary>
        public int Port => _server?.Port ?? throw new InvalidOperationException("the beanstalkd port is not open yet");

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var hubRef = await hub.GetAsync(cancellationToken);
            _server = BeanstalkServer.Start(system, hubRef, frontEnd);
            var cluster = Cluster.Get(system);
            log.LogInformation("linda: beanstalkd protocol on {Address}:{Port}; jobs in {Store}; cluster address {Self}",
                options.Bind, _server.Port, options.Postgres is null ? Path.GetFullPath(Path.Combine(options.Data, "linda.db")) : "PostgreSQL",
                cluster.SelfAddress);
        }

        public void Drain()
        {
            _server?.Drain();
            log.LogInformation("linda: drain mode: puts are refused with DRAINING");
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            if (_server is not null)
                await _server.DisposeAsync();
        }
    }

    /// <summary>
    /// A broker's bridge into the tubes (<c>--redis</c>, <c>--amqp</c>): its pushes go through a
    /// <see cref="TubeClient"/> that makes tubes, so a bridged queue becomes the tube of the same name,
    /// and a beanstalkd client reserving one of its jobs gets <c>{"class": ..., "args": [...]}</c> as the body.
    /// </summary>
    internal sealed class BridgeService(IServiceProvider services, string what, Func<TubeClient, CancellationToken, Task<IAsyncDisposable>> start) : IHostedService
    {
        private IAsyncDisposable? _bridge;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var system = services.GetRequiredService<ActorSystem>();
            var hub = await services.GetRequiredService<IRequiredActor<TubeHub>>().GetAsync(cancellationToken);
            _bridge = await start(new TubeClient(system, hub, services.GetRequiredService<BeanstalkServerOptions>(), makesTubes: true), cancellationToken);
            services.GetRequiredService<ILogger<BridgeService>>().LogInformation("linda: taking {What}", what);
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            if (_bridge is not null)
                await _bridge.DisposeAsync();
        }

        /// <summary>The Redis bridge of <c>--redis</c>.</summary>
        public static BridgeService Redis(IServiceProvider services, RedisBridgeOptions redis) =>
            new(services, $"{(redis.Queues is { } q ? string.Join(", ", q.Select(n => "queue:" + n)) : "every queue:NAME")} from Redis {redis.Redis} into tubes", async (tubes, _) =>
            {
                var bridge = new RedisBridge(redis, tubes, Akka.Event.Logging.GetLogger(services.GetRequiredService<ActorSystem>(), "linda-redis-bridge"));
                await bridge.StartAsync();
                return bridge;
            });

        /// <summary>The RabbitMQ bridge of <c>--amqp</c>.</summary>
        public static BridgeService RabbitMq(IServiceProvider services, RabbitMqBridgeOptions amqp) =>
            new(services, $"RabbitMQ queues {string.Join(", ", amqp.Queues.Select(q => q.Name == q.LindaQueueName ? q.Name : $"{q.Name} -> {q.LindaQueueName}"))} into tubes", async (tubes, ct) =>
            {
                var bridge = new RabbitMqBridge(amqp, tubes, services.GetRequiredService<ActorSystem>());
                await bridge.StartAsync(ct);
                return bridge;
            });
    }
}
