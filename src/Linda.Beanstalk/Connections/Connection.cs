using System.IO.Pipelines;
using System.Net.Sockets;
using Akka.Actor;
using Linda.Beanstalk.Protocol;

namespace Linda.Beanstalk;

/// <summary>
/// One client's socket: reads frames and hands each to the <see cref="Session"/> as it is parsed,
/// on the read loop itself. A command that goes out at once (a put, a verdict on a held job, a
/// reserve that doesn't wait) is sent without waiting for the replies owed before it, so a client that
/// pipelines commands gets them into the queues' next journal write together; the replies are written
/// in order once the frames read so far are used up, and flushed together. A command that runs on its
/// own waits for the replies owed before it, and meanwhile the socket is watched: a client that closes
/// while a reserve waits is noticed at once, and its wait is cancelled.
/// </summary>
internal sealed class Connection
{
    private readonly ActorSystem _system;
    private readonly Socket _socket;
    private readonly BeanstalkServerOptions _options;
    private readonly FrontEndCounters _counters;
    private readonly CancellationToken _stop;
    private readonly CancellationTokenSource _closed;
    private readonly FrameReader _reader;
    private readonly InFlight _inFlight = new();
    private readonly IActorRef _agent;
    private readonly QueueLink _link;
    private readonly Session _session;
    private readonly List<Owed> _owed = [];
    private readonly ITimer _expiry;

    public Connection(ActorSystem system, IActorRef hub, Socket socket, BeanstalkServerOptions options, AskAgain askAgain, FrontEndCounters counters, CancellationToken stop)
    {
        _system = system;
        _socket = socket;
        _options = options;
        _counters = counters;
        _stop = stop;
        _closed = CancellationTokenSource.CreateLinkedTokenSource(stop);
        _reader = new FrameReader(options.MaxJobSize);
        _agent = system.ActorOf(ConnectionAgent.Props(_inFlight));
        var tubes = new TubeCache(hub, _inFlight, options, _closed.Token);
        _link = new QueueLink(_agent, _inFlight, tubes, options, askAgain, _closed.Token);
        _session = new Session(tubes, _link, counters, options, _closed.Token);
        // One timer a connection answers the commands whose reply is overdue (none per command: they cost).
        var every = options.AskTimeout / 4;
        _expiry = options.Time.CreateTimer(_ => _inFlight.Expire(System.Diagnostics.Stopwatch.GetTimestamp()), null, every, every);
    }

    public async Task Run()
    {
        Interlocked.Increment(ref _counters.CurrentConnections);
        Interlocked.Increment(ref _counters.TotalConnections);
        await using var stream = new NetworkStream(_socket, ownsSocket: true);
        var input = PipeReader.Create(stream);
        var output = PipeWriter.Create(stream);
        try
        {
            await _session.Open();
            var read = await input.ReadAsync(_closed.Token);
            while (true)
            {
                var (open, next) = await Process(read, input, output);
                if (!open)
                    break;
                if (next is { } afterCommand)
                {
                    read = afterCommand; // what came, or was left, while a command ran on its own
                    continue;
                }
                await WriteOwed(output);
                await output.FlushAsync(_closed.Token);
                if (read.IsCompleted)
                    break;
                read = await input.ReadAsync(_closed.Token);
            }
            await WriteOwed(output);
            await output.FlushAsync(_closed.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away (or the server stops): nothing to answer.
        }
        finally
        {
            await _expiry.DisposeAsync();
            _system.Stop(_agent); // the queues put the jobs it held back in Ready
            await _closed.CancelAsync();
            await output.CompleteAsync();
            await input.CompleteAsync();
            _socket.Dispose();
            _closed.Dispose();
            Interlocked.Decrement(ref _counters.CurrentConnections);
            _session.Close();
        }
    }

    /// <summary>
    /// Hands the frames of <paramref name="read"/> to the session. Returns whether the connection stays
    /// open and, when a command ran on its own, the read that came after it (whose frames are next).
    /// </summary>
    private async Task<(bool Open, ReadResult? Next)> Process(ReadResult read, PipeReader input, PipeWriter output)
    {
        var buffer = read.Buffer;
        while (true)
        {
            var frame = _reader.Read(buffer);
            buffer = buffer.Slice(frame.Consumed);
            if (frame.NeedsMoreData)
                break;
            if (frame.Error is { } error)
            {
                _owed.Add(new Owed(null, (_, w) =>
                {
                    Replies.Error(w, error);
                    return ValueTask.CompletedTask;
                }));
                continue;
            }
            if (_session.TryPipeline(frame.Command!) is { } owed)
            {
                _owed.Add(owed);
                if (_owed.Count >= _options.MaxPipelined)
                {
                    await WriteOwed(output);
                    await output.FlushAsync(_closed.Token);
                }
                continue;
            }
            // Runs on its own, once the replies owed before it are written. The frames after it are
            // not consumed: they wait for it.
            await WriteOwed(output);
            input.AdvanceTo(buffer.Start, read.Buffer.End);
            return await RunWatchingSocket(frame.Command!, input, output);
        }
        input.AdvanceTo(buffer.Start, buffer.End);
        return (true, null);
    }

    /// <summary>
    /// Runs a command while watching the socket: a close cancels the command's wait (a reserve);
    /// commands that arrive meanwhile wait for it. Returns whether the connection stays open and the
    /// read to go on with.
    /// </summary>
    private async Task<(bool Open, ReadResult? Next)> RunWatchingSocket(Command command, PipeReader input, PipeWriter output)
    {
        var running = _session.Run(command, output);
        var watch = input.ReadAsync(_closed.Token).AsTask();
        while (await Task.WhenAny(running, watch) == watch)
        {
            var seen = await watch;
            if (seen.IsCompleted)
            {
                await _closed.CancelAsync(); // the client closed: whatever the command waits for is off
                break;
            }
            input.AdvanceTo(seen.Buffer.Start, seen.Buffer.End); // read, not used: it waits for this command
            watch = input.ReadAsync(_closed.Token).AsTask();
        }
        var open = await running;
        if (_closed.IsCancellationRequested)
            return (false, null);
        await output.FlushAsync(_closed.Token);
        if (!watch.IsCompleted)
            input.CancelPendingRead();
        var next = await watch;
        return (open, next);
    }

    /// <summary>Writes the replies owed, in order, as each comes (bounded by the ask timeout).</summary>
    private async ValueTask WriteOwed(PipeWriter output)
    {
        if (_owed.Count == 0)
            return;
        foreach (var owed in _owed)
        {
            try
            {
                var answer = owed.Reply is null ? null : QueueLink.Answer(await owed.Reply);
                await owed.Write(answer, output);
            }
            catch (Exception e) when (e is AskTimeoutException or TimeoutException or InvalidOperationException)
            {
                // The tube hub could not be reached in time while asking again: the command may not have gone out.
                Replies.InternalError(output);
            }
        }
        _owed.Clear();
    }
}
