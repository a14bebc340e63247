using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Akka.Actor;
using Linda.Beanstalk.Protocol;

namespace Linda.Beanstalk;

/// <summary>
/// A beanstalkd front end on 127.0.0.1: a TCP listener (System.IO.Pipelines over a socket) with one
/// connection handler per client. Each tube is a Linda queue (see <see cref="TubeRegistry"/>).
/// </summary>
/// <remarks>
/// <para>
/// Implemented so far: <c>put</c>, <c>use</c>, <c>reserve</c>, <c>reserve-with-timeout</c>, <c>delete</c>,
/// <c>release</c>, <c>bury</c>, <c>touch</c>, <c>watch</c>, <c>ignore</c>, <c>list-tube-used</c>,
/// <c>list-tubes-watched</c>, <c>quit</c>. Commands the protocol knows but this server does not implement
/// yet (<c>reserve-job</c>, the <c>peek</c>s, <c>kick</c>, <c>kick-job</c>, the <c>stats</c>,
/// <c>list-tubes</c>, <c>pause-tube</c>) are answered <c>INTERNAL_ERROR</c>; unknown commands
/// <c>UNKNOWN_COMMAND</c> (from <see cref="FrameReader"/>).
/// </para>
/// <para>
/// Single node only. Job ids: beanstalkd's are server-wide, Linda's per queue. A wire id here is
/// <c>tubeNumber &lt;&lt; 40 | pushNumber</c>, where the push number is the queue's generated job id and
/// the tube number is handed out in memory by <see cref="TubeRegistry"/> in order of first use. That is
/// <b>not crash-safe</b> (after a restart tubes may be numbered differently); the planned design persists
/// the tube directory.
/// </para>
/// <para>
/// Known gaps: reserves wait only on the <b>first</b> watched tube (a watch list of several tubes is kept
/// and listed, but only its first tube is reserved from); no <c>DEADLINE_SOON</c>; <c>max-retries</c> is
/// unlimited for beanstalkd jobs (beanstalkd never buries on its own).
/// </para>
/// </remarks>
public sealed class BeanstalkServer : IAsyncDisposable
{
    private readonly ActorSystem _system;
    private readonly IActorRef _tubes;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly int _maxJobSize;

    private BeanstalkServer(ActorSystem system, IActorRef tubes, Socket listener, int maxJobSize)
    {
        _system = system;
        _tubes = tubes;
        _listener = listener;
        _maxJobSize = maxJobSize;
        _accepting = Task.Run(AcceptLoop);
    }

    /// <summary>The port the server listens on.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>Starts listening on 127.0.0.1:<paramref name="port"/> (0: any free port).</summary>
    public static BeanstalkServer Start(ActorSystem system, LindaSettings settings, int port, int maxJobSize = FrameReader.DefaultMaxJobSize)
    {
        var tubes = system.ActorOf(TubeRegistry.Props(settings), "beanstalk-tubes");
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(512);
        return new BeanstalkServer(system, tubes, listener, maxJobSize);
    }

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
            client.NoDelay = true;
            _ = Task.Run(() => new Connection(_system, _tubes, client, _maxJobSize, _stop.Token).Run());
        }
    }

    /// <summary>Stops listening; open connections end when their sockets close.</summary>
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
        _system.Stop(_tubes);
    }
}

/// <summary>One client: reads frames, runs commands in order, writes replies.</summary>
internal sealed class Connection(ActorSystem system, IActorRef tubes, Socket socket, int maxJobSize, CancellationToken stop)
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);
    // A reserve without timeout waits in rounds of this length (a queue refuses waits beyond its max delay).
    private static readonly TimeSpan ReserveRound = TimeSpan.FromHours(1);

    private readonly FrameReader _reader = new(maxJobSize);
    private readonly Dictionary<ulong, (IActorRef Queue, string JobId, long Token)> _leases = [];
    private readonly List<string> _watched = ["default"];
    private string _used = "default";
    private readonly CancellationTokenSource _closed = CancellationTokenSource.CreateLinkedTokenSource(stop);
    private IActorRef _holder = ActorRefs.Nobody;

    public async Task Run()
    {
        // The lease holder: the queues watch it, so stopping it puts this connection's jobs back in Ready.
        _holder = system.ActorOf(Props.Create(() => new LeaseHolder()));
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        var output = PipeWriter.Create(stream);
        // Frames are read on their own, so that a client that closes while a command waits (a reserve) is
        // noticed at once: _closed then cancels the wait.
        var frames = Channel.CreateBounded<Frame>(new BoundedChannelOptions(64) { SingleReader = true, SingleWriter = true });
        var reading = Read(PipeReader.Create(stream), frames.Writer);
        try
        {
            await foreach (var frame in frames.Reader.ReadAllAsync(stop))
            {
                if (frame.Error is { } error)
                    Replies.Error(output, error);
                else if (!await Execute(frame.Command!, output))
                    break;
                if (!frames.Reader.TryPeek(out _))
                    await output.FlushAsync(stop);
            }
            await output.FlushAsync(stop);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away (or the server stops): nothing to answer.
        }
        finally
        {
            system.Stop(_holder);
            await _closed.CancelAsync();
            await output.CompleteAsync();
            socket.Dispose();
            await reading;
            _closed.Dispose();
        }
    }

    /// <summary>Reads frames until the client closes (or the server stops), then cancels <see cref="_closed"/>.</summary>
    private async Task Read(PipeReader input, ChannelWriter<Frame> frames)
    {
        try
        {
            while (true)
            {
                var read = await input.ReadAsync(_closed.Token);
                var buffer = read.Buffer;
                while (true)
                {
                    var frame = _reader.Read(buffer);
                    buffer = buffer.Slice(frame.Consumed);
                    if (frame.NeedsMoreData)
                        break;
                    await frames.WriteAsync(frame, _closed.Token);
                }
                input.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted)
                    break;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            frames.TryComplete();
            await _closed.CancelAsync();
            await input.CompleteAsync();
        }
    }

    /// <summary>Runs one command, writing its reply; false when the connection should close.</summary>
    private async Task<bool> Execute(Command command, PipeWriter output)
    {
        switch (command)
        {
            case Command.Quit:
                return false;
            case Command.Use use:
                _used = use.Tube;
                Replies.Using(output, _used);
                break;
            case Command.ListTubeUsed:
                Replies.Using(output, _used);
                break;
            case Command.Watch watch:
                if (!_watched.Contains(watch.Tube))
                    _watched.Add(watch.Tube);
                Replies.Watching(output, _watched.Count);
                break;
            case Command.Ignore ignore:
                if (_watched.Count == 1 && _watched[0] == ignore.Tube)
                    Replies.NotIgnored(output);
                else
                {
                    _watched.Remove(ignore.Tube);
                    Replies.Watching(output, _watched.Count);
                }
                break;
            case Command.ListTubesWatched:
                Replies.TubeList(output, _watched);
                break;
            case Command.Put put:
                await Put(put, output);
                break;
            case Command.Reserve:
                await Reserve(null, output);
                break;
            case Command.ReserveWithTimeout r:
                await Reserve(r.TimeoutSeconds < 0 ? null : TimeSpan.FromSeconds(r.TimeoutSeconds), output);
                break;
            case Command.Delete delete:
                await Delete(delete.Id, output);
                break;
            case Command.Release release:
                await OnLease(release.Id, output, lease => new JobQueue.Release(lease.JobId, lease.Token)
                {
                    Priority = release.Priority,
                    Delay = TimeSpan.FromSeconds(release.DelaySeconds),
                });
                break;
            case Command.Bury bury:
                await OnLease(bury.Id, output, lease => new JobQueue.Bury(lease.JobId, lease.Token, "buried by a beanstalkd client")
                {
                    Priority = bury.Priority,
                });
                break;
            case Command.Touch touch:
                await OnLease(touch.Id, output, lease => new JobQueue.Touch(lease.JobId, lease.Token));
                break;
            default:
                // Known to the protocol, not implemented yet (see the server's summary).
                Replies.InternalError(output);
                break;
        }
        return true;
    }

    private async Task Put(Command.Put put, PipeWriter output)
    {
        var tube = await Tube(_used);
        var push = new JobQueue.Push(tube.Name, JobPayload.Raw("beanstalk", put.Body))
        {
            Priority = put.Priority,
            Delay = TimeSpan.FromSeconds(put.DelaySeconds),
            TimeToRun = TimeSpan.FromSeconds(put.TtrSeconds),
            MaxRetries = -1, // beanstalkd never buries a job on its own
        };
        if (await Send(tube.Queue, push, AskTimeout) is JobQueue.Pushed pushed && WireId(tube, pushed.JobId) is { } id)
            Replies.Inserted(output, id);
        else
            Replies.InternalError(output);
    }

    private async Task Reserve(TimeSpan? timeout, PipeWriter output)
    {
        // Replies owed to pipelined commands before this one go out before it waits.
        await output.FlushAsync(stop);
        // Only the first watched tube is reserved from (see the server's summary).
        var tube = await Tube(_watched[0]);
        while (true)
        {
            var wait = timeout ?? ReserveRound;
            // A client that closes while waiting cancels the wait (and Run stops the holder, so a job the queue
            // hands out meanwhile goes back to Ready).
            var reply = await Send(tube.Queue, new JobQueue.Reserve(wait), wait + AskTimeout, _closed.Token);
            switch (reply)
            {
                case JobQueue.Reserved reserved when WireId(tube, reserved.Job.Id) is { } id:
                    _leases[id] = (tube.Queue, reserved.Job.Id, reserved.Token);
                    Replies.Reserved(output, id, reserved.Job.Payload.Body.Span);
                    return;
                case JobQueue.ReserveTimedOut when timeout is null:
                    continue;
                case JobQueue.ReserveTimedOut:
                    Replies.TimedOut(output);
                    return;
                default:
                    Replies.InternalError(output);
                    return;
            }
        }
    }

    private async Task Delete(ulong id, PipeWriter output)
    {
        JobQueue.IReply? reply;
        if (_leases.Remove(id, out var lease))
            reply = await Send(lease.Queue, new JobQueue.Complete(lease.JobId, lease.Token), AskTimeout);
        else if (await TubeOf(id) is { } tube)
        {
            // beanstalkd answers NOT_FOUND for a job another connection has reserved. (Checked, then deleted:
            // not atomic; a reserve in between loses its job.)
            reply = await Send(tube.Queue, new JobQueue.GetJob(PushNumber(id)), AskTimeout);
            if (reply is JobView { State: not JobState.Reserved })
                reply = await Send(tube.Queue, new JobQueue.Delete(PushNumber(id)), AskTimeout);
            else if (reply is JobView)
                reply = new JobQueue.NotFound(PushNumber(id));
        }
        else
            reply = new JobQueue.NotFound(id.ToString());
        switch (reply)
        {
            case JobQueue.Completed or JobQueue.Deleted:
                Replies.Deleted(output);
                break;
            case JobQueue.NotFound or JobQueue.StaleLease or JobQueue.NotReserved:
                Replies.NotFound(output);
                break;
            default:
                Replies.InternalError(output);
                break;
        }
    }

    /// <summary>release, bury, touch: only on a job this connection holds, else <c>NOT_FOUND</c>.</summary>
    private async Task OnLease(ulong id, PipeWriter output, Func<(IActorRef Queue, string JobId, long Token), JobQueue.ILeaseCommand> command)
    {
        if (!_leases.TryGetValue(id, out var lease))
        {
            Replies.NotFound(output);
            return;
        }
        var reply = await Send(lease.Queue, command(lease), AskTimeout);
        if (reply is not JobQueue.Touched)
            _leases.Remove(id);
        switch (reply)
        {
            case JobQueue.Released { State: JobState.Buried } or JobQueue.Buried:
                Replies.Buried(output);
                break;
            case JobQueue.Released:
                Replies.Released(output);
                break;
            case JobQueue.Touched:
                Replies.Touched(output);
                break;
            case JobQueue.NotFound or JobQueue.StaleLease or JobQueue.NotReserved:
                Replies.NotFound(output);
                break;
            default:
                Replies.InternalError(output);
                break;
        }
    }

    private async Task<JobQueue.IReply?> Send(IActorRef queue, JobQueue.ICommand command, TimeSpan timeout, CancellationToken? cancel = null)
    {
        var reply = new TaskCompletionSource<JobQueue.IReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        _holder.Tell(new LeaseHolder.Send(queue, command, reply));
        try
        {
            return await reply.Task.WaitAsync(timeout, cancel ?? stop);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    private Task<TubeRegistry.Tube> Tube(string name) => tubes.Ask<TubeRegistry.Tube>(new TubeRegistry.Get(name), AskTimeout);

    private async Task<TubeRegistry.Tube?> TubeOf(ulong id) =>
        await tubes.Ask<TubeRegistry.Found>(new TubeRegistry.Lookup(id >> TubeRegistry.PushBits), AskTimeout) is { Tube: { } tube } ? tube : null;

    private static ulong? WireId(TubeRegistry.Tube tube, string jobId) =>
        ulong.TryParse(jobId, out var push) && push < 1UL << TubeRegistry.PushBits ? tube.Number << TubeRegistry.PushBits | push : null;

    private static string PushNumber(ulong id) => (id & ((1UL << TubeRegistry.PushBits) - 1)).ToString();
}

/// <summary>
/// A connection's actor: it sends the connection's commands to the queues, so it is the lease holder
/// they watch, and hands each reply back. The connection awaits one reply at a time.
/// </summary>
internal sealed class LeaseHolder : ReceiveActor
{
    public sealed record Send(IActorRef Queue, JobQueue.ICommand Command, TaskCompletionSource<JobQueue.IReply> Reply);

    private TaskCompletionSource<JobQueue.IReply>? _pending;

    public LeaseHolder()
    {
        Receive<Send>(s =>
        {
            _pending = s.Reply;
            s.Queue.Tell(s.Command, Self);
        });
        Receive<JobQueue.IReply>(reply =>
        {
            var pending = _pending;
            _pending = null;
            pending?.TrySetResult(reply);
        });
    }
}

/// <summary>
/// The tubes of this server: a <see cref="JobQueueActor"/> child per tube name, created on first use, and
/// numbered in order of creation (the high bits of wire job ids).
/// </summary>
/// <remarks>
/// Single node only for now: the queues are plain children of this actor, not cluster shards, and the
/// numbering lives in memory (not crash-safe; a persisted tube directory is planned).
/// </remarks>
internal sealed class TubeRegistry : ReceiveActor
{
    /// <summary>Bits of a wire id that hold the queue's push number.</summary>
    public const int PushBits = 40;

    public sealed record Get(string Name);

    public sealed record Lookup(ulong Number);

    public sealed record Tube(string Name, ulong Number, IActorRef Queue);

    public sealed record Found(Tube? Tube);

    private readonly Dictionary<string, Tube> _byName = [];
    private readonly List<Tube> _byNumber = [];

    public static Props Props(LindaSettings settings) => Akka.Actor.Props.Create(() => new TubeRegistry(settings));

    public TubeRegistry(LindaSettings settings)
    {
        Receive<Get>(get =>
        {
            if (!_byName.TryGetValue(get.Name, out var tube))
            {
                var queue = Context.ActorOf(JobQueueActor.Props(get.Name, settings), "tube-" + Uri.EscapeDataString(get.Name));
                tube = new Tube(get.Name, (ulong)_byNumber.Count, queue);
                _byName.Add(get.Name, tube);
                _byNumber.Add(tube);
            }
            Sender.Tell(tube);
        });
        Receive<Lookup>(lookup => Sender.Tell(new Found(lookup.Number < (ulong)_byNumber.Count ? _byNumber[(int)lookup.Number] : null)));
    }
}
