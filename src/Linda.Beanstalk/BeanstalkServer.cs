using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Linda.Beanstalk.Protocol;

namespace Linda.Beanstalk;

/// <summary>Where and how a <see cref="BeanstalkServer"/> listens.</summary>
public sealed record BeanstalkServerOptions
{
    /// <summary>The TCP port (0: any free port). <b>Default:</b> 11300, beanstalkd's.</summary>
    public int Port { get; init; } = 11300;

    /// <summary>The address to bind. <b>Default:</b> 127.0.0.1.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>The largest job body in bytes (beanstalkd's <c>-z</c>). <b>Default:</b> 65,535.</summary>
    public int MaxJobSize { get; init; } = FrameReader.DefaultMaxJobSize;

    /// <summary>Connections the listener queues before they are accepted. <b>Default:</b> 512.</summary>
    public int ListenBacklog { get; init; } = 512;

    /// <summary>
    /// How long a command waits for its queue's answer before the client gets <c>INTERNAL_ERROR</c>
    /// (on top of a reserve's own wait). <b>Default:</b> 30 s.
    /// </summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The tube hub (or directory) is asked in attempts this long, and so is a tube's queue where it runs
    /// (<see cref="JobQueue.Locate"/>): a question sent to a node that just died is lost, the next attempt
    /// reaches the new incarnation. <b>Default:</b> 2 s.
    /// </summary>
    public TimeSpan HubAttempt { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the hub is asked, in attempts, before the client gets <c>INTERNAL_ERROR</c> (longer than a failover). <b>Default:</b> 60 s.</summary>
    public TimeSpan HubTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Replies a connection may owe to commands it sent on without waiting (pipelined puts, verdicts,
    /// reserves that don't wait) before it waits for the oldest. <b>Default:</b> 1024.
    /// </summary>
    public int MaxPipelined { get; init; } = 1024;

    /// <summary>The front end's clock (reserve timeouts, DEADLINE_SOON, ages in stats). <b>Default:</b> the system's.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>
/// A beanstalkd 1.12 front end: a TCP listener (System.IO.Pipelines over sockets) with a
/// <see cref="Connection"/> per client. Each tube is a Linda queue, kept by a <see cref="TubeHub"/> or
/// (on a cluster's sharded placement) an entity of the queues' shard region found through the node's
/// <see cref="ShardedTubes"/>, so jobs put here are durable like every Linda job.
/// </summary>
/// <remarks>
/// Job ids: see <see cref="WireIds"/>: the tube number comes from the persisted tube directory (the
/// first tube used gets 0, so its ids are 1, 2, 3...), the job's from its queue.
/// Reservations belong to the connection: its agent actor holds the leases, and when the connection
/// closes the agent stops and the queues put its jobs back in Ready at once.
/// </remarks>
public sealed class BeanstalkServer : IAsyncDisposable
{
    private readonly ActorSystem _system;
    private readonly IActorRef _hub;
    private readonly IActorRef? _ownHub;
    private readonly FrontEndCounters _counters;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly BeanstalkServerOptions _options;
    private readonly AskAgain _askAgain;

    private BeanstalkServer(ActorSystem system, IActorRef hub, IActorRef? ownHub, Socket listener, BeanstalkServerOptions options)
    {
        _system = system;
        _hub = hub;
        _ownHub = ownHub;
        _listener = listener;
        _options = options;
        _askAgain = LindaSettings.Create(system).AskAgain;
        _counters = new FrontEndCounters(options.Time);
        _accepting = Task.Run(AcceptLoop);
    }

    /// <summary>The port the server listens on.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>
    /// Starts a front end for the tubes of <paramref name="hub"/>: a <see cref="TubeHub"/>, on a cluster
    /// a singleton proxy to it, or the node's <see cref="ShardedTubes"/> (the sharded placement).
    /// </summary>
    public static BeanstalkServer Start(ActorSystem system, IActorRef hub, BeanstalkServerOptions options) =>
        Listen(system, hub, null, options);

    /// <summary>Starts a front end with its own <see cref="TubeHub"/> on this ActorSystem (a single node).</summary>
    public static BeanstalkServer Start(ActorSystem system, LindaSettings settings, BeanstalkServerOptions options)
    {
        UseSerializer(system);
        var hub = system.ActorOf(TubeHub.Props(settings, options.MaxJobSize), "beanstalk-tubes");
        return Listen(system, hub, hub, options);
    }

    /// <summary>Starts a single-node front end on 127.0.0.1:<paramref name="port"/> (0: any free port).</summary>
    public static BeanstalkServer Start(ActorSystem system, LindaSettings settings, int port, int maxJobSize = FrameReader.DefaultMaxJobSize) =>
        Start(system, settings, new BeanstalkServerOptions { Port = port, MaxJobSize = maxJobSize });

    /// <summary>
    /// Binds <see cref="BeanstalkSerializer"/> on an ActorSystem made without <see cref="BeanstalkSerializer.Config"/>
    /// (the hub's event must never go through a default serializer).
    /// </summary>
    public static void UseSerializer(ActorSystem system)
    {
        var serialization = system.Serialization;
        if (serialization.FindSerializerForType(typeof(BeanstalkProtocol.TubeNumbered)) is BeanstalkSerializer)
            return;
        var serializer = new BeanstalkSerializer((ExtendedActorSystem)system);
        serialization.AddSerializer("linda-beanstalk", serializer);
        serialization.AddSerializationMap(typeof(BeanstalkProtocol.IBeanstalkMessage), serializer);
    }

    private static BeanstalkServer Listen(ActorSystem system, IActorRef hub, IActorRef? ownHub, BeanstalkServerOptions options)
    {
        var listener = new Socket(options.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(options.Address, options.Port));
            listener.Listen(options.ListenBacklog);
        }
        catch
        {
            listener.Dispose();
            if (ownHub is not null)
                system.Stop(ownHub);
            throw;
        }
        return new BeanstalkServer(system, hub, ownHub, listener, options);
    }

    /// <summary>
    /// Puts the server in drain mode (beanstalkd's SIGUSR1): every later <c>put</c> is answered
    /// <c>DRAINING</c>; everything else goes on.
    /// </summary>
    public void Drain() => _counters.Draining = true;

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // one failed accept (the client gave up) is not the listener's end
            }
            client.NoDelay = true;
            _ = Task.Run(() => new Connection(_system, _hub, client, _options, _askAgain, _counters, _stop.Token).Run());
        }
    }

    /// <summary>Stops listening and closes the connections (their jobs go back to Ready).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }
        if (_ownHub is not null)
            _system.Stop(_ownHub);
    }
}
