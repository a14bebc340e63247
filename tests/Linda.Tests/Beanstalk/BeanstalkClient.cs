using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace Linda.Tests.Beanstalk;

/// <summary>
/// A beanstalkd client over one socket, for specs that speak the protocol byte for byte; text is
/// Latin-1, one char per byte. Every read is bounded.
/// </summary>
/// <remarks>
/// Two kinds of reads. <see cref="ReadLine"/>, <see cref="ReadData"/> and the Ask methods built on them
/// throw when the server closes the connection (<see cref="EndOfStreamException"/>), does not answer
/// within the read bound (<see cref="TimeoutException"/>) or sends data not followed by CRLF
/// (<see cref="InvalidDataException"/>). <see cref="TryWrite"/>, <see cref="TryReadLine"/> and
/// <see cref="TryReadData"/>, for a spec that writes down whatever the server does, answer false or
/// null once the connection is closed (or reset), and leave a wrong end of data to the caller.
/// </remarks>
internal sealed class BeanstalkClient : IDisposable
{
    public static readonly TimeSpan DefaultReadBound = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan ConnectBound = TimeSpan.FromSeconds(10);

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly string _name;
    private readonly TimeSpan _readBound;
    private byte[] _buffer = new byte[1 << 16];
    private int _start, _end;
    private bool _closed;
    private IOException? _resetBy; // what ended the connection, when it was not closed in order
    private string? _used = "default";

    private BeanstalkClient(TcpClient tcp, string name, TimeSpan readBound)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _name = name;
        _readBound = readBound;
    }

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/>; <paramref name="name"/> is for messages; <paramref name="readBound"/> bounds each read (45 s by default).</summary>
    public static async Task<BeanstalkClient> Connect(int port, string name = "client", TimeSpan? readBound = null)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(IPAddress.Loopback, port).WaitAsync(ConnectBound);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
        return new BeanstalkClient(tcp, name, readBound ?? DefaultReadBound);
    }

    public static string PutFrame(uint priority, uint delay, uint ttr, string body) =>
        $"put {priority} {delay} {ttr} {body.Length}\r\n{body}\r\n";

    // ================================================================ writing and asking

    public Task Write(string text) => _stream.WriteAsync(Encoding.Latin1.GetBytes(text)).AsTask();

    /// <summary>Writes <paramref name="text"/>; false if the server has closed the connection.</summary>
    public async Task<bool> TryWrite(string text)
    {
        try
        {
            await Write(text);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Sends <paramref name="line"/> and its CRLF; returns the reply line.</summary>
    public async Task<string> Ask(string line)
    {
        await Write(line + "\r\n");
        return await ReadLine();
    }

    /// <summary>use <paramref name="tube"/>, unless it is the tube in use already (as chosen through this method).</summary>
    public async Task Use(string tube)
    {
        if (_used == tube)
            return;
        Assert.Equal($"USING {tube}", await Ask($"use {tube}"));
        _used = tube;
    }

    /// <summary>Puts <paramref name="body"/>, expects <c>INSERTED id</c> and returns the id.</summary>
    public async Task<ulong> Put(string body, uint priority = 0, uint ttr = 60, uint delay = 0)
    {
        var reply = await AskPut(priority, delay, ttr, body);
        Assert.StartsWith("INSERTED ", reply);
        return ulong.Parse(reply["INSERTED ".Length..], CultureInfo.InvariantCulture);
    }

    /// <summary>Puts <paramref name="body"/>; returns the reply line, whatever it is.</summary>
    public async Task<string> AskPut(uint priority, uint delay, uint ttr, string body)
    {
        await Write(PutFrame(priority, delay, ttr, body));
        return await ReadLine();
    }

    /// <summary>Sends <paramref name="command"/>, expects <c>RESERVED id n</c> and the body.</summary>
    public async Task Reserve(ulong id, string body, string command = "reserve")
    {
        Assert.Equal($"RESERVED {id} {body.Length}", await Ask(command));
        Assert.Equal(body, await ReadData(body.Length));
    }

    /// <summary>A command answered <c>RESERVED|FOUND id n</c> and a body, or another line (body null).</summary>
    public async Task<(string Reply, string? Body)> AskJob(string line)
    {
        var reply = await Ask(line);
        var words = reply.Split(' ');
        return words is ["RESERVED" or "FOUND", _, var length]
            ? (reply, await ReadData(int.Parse(length, CultureInfo.InvariantCulture)))
            : (reply, null);
    }

    /// <summary>Sends <paramref name="line"/>, expects <c>OK n</c> and returns the data.</summary>
    public async Task<string> AskData(string line)
    {
        var reply = await Ask(line);
        Assert.StartsWith("OK ", reply);
        return await ReadData(int.Parse(reply[3..], CultureInfo.InvariantCulture));
    }

    /// <summary>A command answered <c>OK n</c> and YAML, parsed by <see cref="ParseYaml"/>; or another line (data null).</summary>
    public async Task<(string Reply, Dictionary<string, string>? Data)> AskYaml(string line)
    {
        var reply = await Ask(line);
        if (!reply.StartsWith("OK ", StringComparison.Ordinal))
            return (reply, null);
        return (reply, ParseYaml(await ReadData(int.Parse(reply[3..], CultureInfo.InvariantCulture))));
    }

    /// <summary>The "key: value" lines of a YAML reply, the value's quotes taken off.</summary>
    public static Dictionary<string, string> ParseYaml(string yaml) =>
        yaml.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(": ", StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf(": ", StringComparison.Ordinal)], l => l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..].Trim('"'));

    // ================================================================ reading

    /// <summary>A reply line, without its CRLF.</summary>
    public async Task<string> ReadLine() => await TryReadLine() ?? throw Closed();

    /// <summary><paramref name="length"/> data bytes and the CRLF after them.</summary>
    public async Task<string> ReadData(int length)
    {
        var (data, end) = await TryReadData(length) ?? throw Closed();
        if (end != "\r\n")
            throw new InvalidDataException($"{_name}: {length} data bytes followed by {Escape(end)}, not CRLF");
        return data;
    }

    /// <summary>A line without its CRLF; null if the server closes the connection first.</summary>
    public async Task<string?> TryReadLine(CancellationToken cancel = default)
    {
        while (true)
        {
            var span = _buffer.AsSpan(_start, _end - _start);
            var at = span.IndexOf("\r\n"u8);
            if (at >= 0)
            {
                var line = Encoding.Latin1.GetString(span[..at]);
                _start += at + 2;
                return line;
            }
            if (!await Fill(cancel))
                return null;
        }
    }

    /// <summary>
    /// <paramref name="length"/> bytes of data and the two bytes after them (CRLF, if the server is
    /// right); null if the connection closes first.
    /// </summary>
    public async Task<(string Data, string End)?> TryReadData(int length, CancellationToken cancel = default)
    {
        while (_end - _start < length + 2)
            if (!await Fill(cancel))
                return null;
        var data = Encoding.Latin1.GetString(_buffer, _start, length);
        var end = Encoding.Latin1.GetString(_buffer, _start + length, 2);
        _start += length + 2;
        return (data, end);
    }

    /// <summary>How many bytes came that were not read yet.</summary>
    public int Pending => _end - _start;

    /// <summary>The bytes that came and were not read yet, now read.</summary>
    public string TakePending()
    {
        var text = Encoding.Latin1.GetString(_buffer, _start, _end - _start);
        _start = _end;
        return text;
    }

    /// <summary>Reads until the server closes the connection; returns how many bytes came that were not read before.</summary>
    public async Task<int> ReadToEnd()
    {
        while (await Fill(CancellationToken.None))
        {
        }
        if (_resetBy is not null)
            throw new IOException($"{_name}: the connection was reset, not closed", _resetBy);
        return TakePending().Length;
    }

    public void Dispose() => _tcp.Dispose();

    /// <summary>Reads what comes next into the buffer; false once the connection is closed.</summary>
    private async Task<bool> Fill(CancellationToken cancel)
    {
        if (_closed)
            return false;
        if (_start > 0)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
            Array.Resize(ref _buffer, _buffer.Length * 2);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(_readBound);
        int n;
        try
        {
            n = await _stream.ReadAsync(_buffer.AsMemory(_end), timeout.Token);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new TimeoutException($"{_name}: no reply within {_readBound.TotalSeconds} s");
        }
        catch (IOException e)
        {
            _resetBy = e;
            n = 0;
        }
        if (n == 0)
        {
            _closed = true;
            return false;
        }
        _end += n;
        return true;
    }

    private EndOfStreamException Closed() =>
        new($"{_name}: the server closed the connection{(_resetBy is null ? "" : " (reset)")}", _resetBy);

    private static string Escape(string bytes) =>
        "\"" + string.Concat(bytes.Select(c => c is >= ' ' and <= '~' ? c.ToString() : $"\\x{(int)c:x2}")) + "\"";
}
