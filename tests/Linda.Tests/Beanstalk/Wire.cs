using System.Buffers;
using System.Text;
using Linda.Beanstalk.Protocol;
using Xunit;

namespace Linda.Tests.Beanstalk;

/// <summary>
/// Test helpers for the beanstalkd protocol layer: bytes from text, a <see cref="FrameReader"/> driven
/// the way a PipeReader loop drives it, and a short text for each frame so specs read like transcripts.
/// </summary>
internal static class Wire
{
    /// <summary>One byte per char (Latin-1), so "\x80" or "\0" in a spec is that byte.</summary>
    public static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>Every frame found in <paramref name="input"/>, given to the reader all at once.</summary>
    public static List<string> Items(string input, int maxJobSize = FrameReader.DefaultMaxJobSize) =>
        Feed(new FrameReader(maxJobSize), [Bytes(input)]).Items;

    /// <summary>
    /// Feeds <paramref name="chunks"/> one after the other as a pipe would: what the reader did not
    /// consume stays in front of the next chunk. Returns the frames and the bytes left unconsumed.
    /// </summary>
    public static (List<string> Items, int Left) Feed(FrameReader reader, IEnumerable<byte[]> chunks, int segmentSize = int.MaxValue)
    {
        var items = new List<string>();
        var pending = Array.Empty<byte>();
        foreach (var chunk in chunks)
        {
            pending = [.. pending, .. chunk];
            while (true)
            {
                var buffer = Segmented(pending, segmentSize);
                var frame = reader.Read(buffer);
                Assert.InRange(frame.Consumed, 0, pending.Length);
                pending = pending[(int)frame.Consumed..];
                if (frame.NeedsMoreData)
                    break;
                items.Add(Describe(frame));
            }
        }
        return (items, pending.Length);
    }

    /// <summary>The input cut into chunks at the given offsets.</summary>
    public static IEnumerable<byte[]> Split(byte[] input, params int[] cuts)
    {
        var start = 0;
        foreach (var cut in cuts.Append(input.Length))
        {
            yield return input[start..cut];
            start = cut;
        }
    }

    /// <summary>A frame as text: the error reply's word, <c>put pri delay ttr "body"</c>, or the command record.</summary>
    public static string Describe(Frame frame) => frame switch
    {
        { Error: { } error } => ErrorWord(error),
        { Command: Command.Put put } => $"put {put.Priority} {put.DelaySeconds} {put.TtrSeconds} \"{Escape(put.Body)}\"",
        { Command: { } command } => command.ToString(),
        _ => "(more)",
    };

    public static string ErrorWord(ProtocolError error)
    {
        var writer = new ArrayBufferWriter<byte>();
        Replies.Error(writer, error);
        return Encoding.ASCII.GetString(writer.WrittenSpan).TrimEnd('\r', '\n');
    }

    /// <summary>What a reply writer wrote, as Latin-1 text (CR and LF included).</summary>
    public static string Written(Action<IBufferWriter<byte>> write)
    {
        var writer = new ArrayBufferWriter<byte>();
        write(writer);
        return Encoding.Latin1.GetString(writer.WrittenSpan);
    }

    private static string Escape(byte[] body)
    {
        var text = new StringBuilder();
        foreach (var b in body)
            text.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                (byte)'"' or (byte)'\\' => "\\" + (char)b,
                >= 0x20 and < 0x7f => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        return text.ToString();
    }

    /// <summary>The bytes as a sequence of segments of at most <paramref name="size"/> bytes (a PipeReader gives several).</summary>
    private static ReadOnlySequence<byte> Segmented(byte[] data, int size)
    {
        if (data.Length <= size)
            return new ReadOnlySequence<byte>(data);
        var first = new Segment(data.AsMemory(0, size), 0);
        var last = first;
        for (var at = size; at < data.Length; at += size)
            last = last.Append(data.AsMemory(at, Math.Min(size, data.Length - at)));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
