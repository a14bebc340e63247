using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Linda.Beanstalk;
using Linda.Persistence;
using Linda.Tests.Infrastructure;
using Xunit;

namespace Linda.Tests.Beanstalk;

/// <summary>
/// The beanstalkd server over real TCP: one ActorSystem on a SQLite file, the server on a free port,
/// and clients that speak the protocol byte for byte.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class ServerSpec : IAsyncLifetime
{
    private readonly TempFolder _folder = new();
    private ActorSystem _system = null!;
    private BeanstalkServer _server = null!;

    public Task InitializeAsync()
    {
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING");
        _system = ActorSystem.Create("beanstalk", SqlitePersistence.Setup(_folder.File("linda.db"), config));
        _server = BeanstalkServer.Start(_system, LindaSettings.Create(_system), TestPrograms.FreePort());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _system.Terminate();
        _folder.Dispose();
    }

    private Client Connect() => new(_server.Port);

    [Fact]
    public async Task Put_reserve_delete_keeps_a_binary_body()
    {
        using var c = Connect();
        var body = "a\r\nb\0\xff\r\n";
        var id = await c.Put(body);
        Assert.Equal($"RESERVED {id} {body.Length}", await c.Ask("reserve"));
        Assert.Equal(body, await c.ReadData(body.Length));
        Assert.Equal("DELETED", await c.Ask($"delete {id}"));
        Assert.Equal("NOT_FOUND", await c.Ask($"delete {id}"));
        Assert.Equal("TIMED_OUT", await c.Ask("reserve-with-timeout 0"));
    }

    [Fact]
    public async Task Release_with_a_delay_makes_the_job_ready_again_later()
    {
        using var c = Connect();
        var id = await c.Put("job");
        await c.Reserve(id, "job");
        Assert.Equal("RELEASED", await c.Ask($"release {id} 5 1"));
        Assert.Equal("TIMED_OUT", await c.Ask("reserve-with-timeout 0"));
        await c.Reserve(id, "job", "reserve-with-timeout 30");
        Assert.Equal("NOT_FOUND", await c.Ask("release 999 0 0"));
    }

    [Fact]
    public async Task Bury_takes_the_job_out_of_reach()
    {
        using var c = Connect();
        var id = await c.Put("job");
        await c.Reserve(id, "job");
        Assert.Equal("BURIED", await c.Ask($"bury {id} 7"));
        Assert.Equal("TIMED_OUT", await c.Ask("reserve-with-timeout 0"));
        Assert.Equal("NOT_FOUND", await c.Ask($"release {id} 0 0"));
        Assert.Equal("NOT_FOUND", await c.Ask($"bury {id} 7"));
    }

    [Fact]
    public async Task Touch_renews_only_a_held_lease()
    {
        using var c = Connect();
        var id = await c.Put("job");
        Assert.Equal("NOT_FOUND", await c.Ask($"touch {id}"));
        await c.Reserve(id, "job");
        Assert.Equal("TOUCHED", await c.Ask($"touch {id}"));
        Assert.Equal("TOUCHED", await c.Ask($"touch {id}"));
        Assert.Equal("DELETED", await c.Ask($"delete {id}"));
    }

    [Fact]
    public async Task A_closed_connection_gives_its_reserved_job_back()
    {
        ulong id;
        using (var first = Connect())
        {
            id = await first.Put("job", ttr: 3600);
            await first.Reserve(id, "job");
        }
        using var second = Connect();
        await second.Reserve(id, "job", "reserve-with-timeout 30");
    }

    [Fact]
    public async Task A_client_that_closes_while_waiting_in_reserve_takes_no_job()
    {
        using (var waiting = Connect())
        {
            // The reply to the first command shows that the server has read the reserve behind it.
            await waiting.Write("list-tube-used\r\nreserve\r\n");
            Assert.Equal("USING default", await waiting.ReadLine());
        }
        using var c = Connect();
        var id = await c.Put("job", ttr: 3600);
        await c.Reserve(id, "job", "reserve-with-timeout 30");
    }

    [Fact]
    public async Task Another_connections_reserved_job_cannot_be_deleted()
    {
        using var holder = Connect();
        using var other = Connect();
        var id = await holder.Put("job");
        await holder.Reserve(id, "job");
        Assert.Equal("NOT_FOUND", await other.Ask($"delete {id}"));
        Assert.Equal("NOT_FOUND", await other.Ask($"release {id} 0 0"));
        Assert.Equal("DELETED", await holder.Ask($"delete {id}"));
        var ready = await holder.Put("ready job");
        Assert.Equal("DELETED", await other.Ask($"delete {ready}"));
    }

    [Fact]
    public async Task Use_watch_and_ignore()
    {
        using var c = Connect();
        Assert.Equal("USING default", await c.Ask("list-tube-used"));
        Assert.Equal("USING foo", await c.Ask("use foo"));
        Assert.Equal("USING foo", await c.Ask("list-tube-used"));
        Assert.Equal("WATCHING 2", await c.Ask("watch foo"));
        Assert.Equal("WATCHING 2", await c.Ask("watch foo"));
        Assert.Equal("---\n- default\n- foo\n", await c.AskData("list-tubes-watched"));
        Assert.Equal("WATCHING 1", await c.Ask("ignore default"));
        Assert.Equal("NOT_IGNORED", await c.Ask("ignore foo"));
        Assert.Equal("WATCHING 1", await c.Ask("ignore bar"));

        var inFoo = await c.Put("foo job");
        Assert.Equal("USING default", await c.Ask("use default"));
        var inDefault = await c.Put("default job");
        Assert.NotEqual(inFoo, inDefault);
        await c.Reserve(inFoo, "foo job");
        Assert.Equal("TIMED_OUT", await c.Ask("reserve-with-timeout 0"));
        Assert.Equal("DELETED", await c.Ask($"delete {inDefault}"));
        Assert.Equal("DELETED", await c.Ask($"delete {inFoo}"));
    }

    [Fact]
    public async Task Pipelined_commands_are_answered_in_order()
    {
        using var c = Connect();
        await c.Write("put 1 0 60 3\r\nabc\r\nput 0 0 60 2\r\nde\r\nreserve-with-timeout 0\r\nreserve-with-timeout 0\r\n"
            + "reserve-with-timeout 0\r\nbogus\r\npeek-ready\r\nlist-tube-used\r\n");
        var first = await c.ReadLine();
        var second = await c.ReadLine();
        Assert.StartsWith("INSERTED ", first);
        Assert.StartsWith("INSERTED ", second);
        // Priority 0 comes first.
        Assert.Equal($"RESERVED {second[9..]} 2", await c.ReadLine());
        Assert.Equal("de", await c.ReadData(2));
        Assert.Equal($"RESERVED {first[9..]} 3", await c.ReadLine());
        Assert.Equal("abc", await c.ReadData(3));
        Assert.Equal("TIMED_OUT", await c.ReadLine());
        Assert.Equal("UNKNOWN_COMMAND", await c.ReadLine());
        Assert.Equal("NOT_FOUND", await c.ReadLine());
        Assert.Equal("USING default", await c.ReadLine());
    }

    [Fact]
    public async Task Quit_closes_the_connection()
    {
        using var c = Connect();
        await c.Write("quit\r\n");
        Assert.Equal(0, await c.ReadToEnd());
    }

    /// <summary>A beanstalkd client over one socket; text is Latin-1, one char per byte.</summary>
    private sealed class Client : IDisposable
    {
        private readonly TcpClient _tcp;
        private readonly NetworkStream _stream;
        private readonly byte[] _buffer = new byte[65536];
        private int _start, _end;

        public Client(int port)
        {
            _tcp = new TcpClient("127.0.0.1", port);
            _stream = _tcp.GetStream();
        }

        public Task Write(string text) => _stream.WriteAsync(Encoding.Latin1.GetBytes(text)).AsTask();

        public async Task<string> Ask(string line)
        {
            await Write(line + "\r\n");
            return await ReadLine();
        }

        public async Task<ulong> Put(string body, uint priority = 0, uint ttr = 60)
        {
            await Write($"put {priority} 0 {ttr} {body.Length}\r\n{body}\r\n");
            var reply = await ReadLine();
            Assert.StartsWith("INSERTED ", reply);
            return ulong.Parse(reply["INSERTED ".Length..]);
        }

        public async Task Reserve(ulong id, string body, string command = "reserve")
        {
            Assert.Equal($"RESERVED {id} {body.Length}", await Ask(command));
            Assert.Equal(body, await ReadData(body.Length));
        }

        /// <summary>Sends <paramref name="line"/>, expects <c>OK &lt;n&gt;</c> and returns the data.</summary>
        public async Task<string> AskData(string line)
        {
            var reply = await Ask(line);
            Assert.StartsWith("OK ", reply);
            return await ReadData(int.Parse(reply[3..]));
        }

        /// <summary>A reply line, without its CRLF.</summary>
        public async Task<string> ReadLine()
        {
            while (true)
            {
                var at = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (at > _start && _buffer[at - 1] == '\r')
                {
                    var line = Encoding.Latin1.GetString(_buffer, _start, at - 1 - _start);
                    _start = at + 1;
                    return line;
                }
                await Fill();
            }
        }

        /// <summary><paramref name="length"/> data bytes and the CRLF after them.</summary>
        public async Task<string> ReadData(int length)
        {
            while (_end - _start < length + 2)
                await Fill();
            Assert.Equal("\r\n", Encoding.Latin1.GetString(_buffer, _start + length, 2));
            var data = Encoding.Latin1.GetString(_buffer, _start, length);
            _start += length + 2;
            return data;
        }

        /// <summary>Reads until the server closes; returns how many bytes came.</summary>
        public async Task<int> ReadToEnd()
        {
            var total = _end - _start;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            int n;
            while ((n = await _stream.ReadAsync(_buffer, timeout.Token)) > 0)
                total += n;
            return total;
        }

        private async Task Fill()
        {
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var n = await _stream.ReadAsync(_buffer.AsMemory(_end), timeout.Token);
            if (n == 0)
                throw new IOException("the server closed the connection");
            _end += n;
        }

        public void Dispose() => _tcp.Dispose();
    }
}
