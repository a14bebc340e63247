using System.Text;

namespace Linda.Beanstalk.Protocol;

/// <summary>
/// beanstalkd's tube names: 1 to 200 bytes of <c>A-Z a-z 0-9 - + / ; . $ _ ( )</c>, not starting with '-'.
/// </summary>
public static class TubeName
{
    /// <summary>The longest name, in bytes (beanstalkd's <c>MAX_TUBE_NAME_LEN - 1</c>).</summary>
    public const int MaxLength = 200;

    /// <summary>Whether <paramref name="name"/> is a valid tube name (beanstalkd's <c>is_valid_tube</c>).</summary>
    public static bool IsValid(ReadOnlySpan<byte> name) =>
        name.Length is > 0 and <= MaxLength && NameCharCount(name) == name.Length && name[0] != (byte)'-';

    /// <summary>Whether <paramref name="name"/> is a valid tube name.</summary>
    public static bool IsValid(string name) =>
        name.Length is > 0 and <= MaxLength && Ascii.IsValid(name) && IsValid(Encoding.ASCII.GetBytes(name));

    /// <summary>How many bytes at the start of <paramref name="text"/> may appear in a name (C <c>strspn(text, NAME_CHARS)</c>).</summary>
    internal static int NameCharCount(ReadOnlySpan<byte> text)
    {
        var i = 0;
        while (i < text.Length && IsNameChar(text[i]))
            i++;
        return i;
    }

    private static bool IsNameChar(byte b) =>
        b is >= (byte)'A' and <= (byte)'Z'
            or >= (byte)'a' and <= (byte)'z'
            or >= (byte)'0' and <= (byte)'9'
            or (byte)'-' or (byte)'+' or (byte)'/' or (byte)';' or (byte)'.' or (byte)'$' or (byte)'_' or (byte)'(' or (byte)')';
}
