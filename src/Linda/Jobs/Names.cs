namespace Linda;

/// <summary>
/// The rules for queue names and job ids, taken from beanstalkd's tube names: 1 to 200 characters of
/// ASCII letters, digits and <c>- + / ; . $ _ ( )</c>, not starting with a hyphen.
/// </summary>
public static class Names
{
    /// <summary>The longest name or id, in characters (beanstalkd's limit).</summary>
    public const int MaxLength = 200;

    /// <summary>Returns why <paramref name="name"/> is not a valid name, or <c>null</c> if it is.</summary>
    /// <param name="name">The candidate.</param>
    /// <param name="what">What the name is, for the message ("queue name", "job id").</param>
    public static string? Check(string? name, string what)
    {
        if (string.IsNullOrEmpty(name))
            return $"{what} is empty";
        if (name.Length > MaxLength)
            return $"{what} is {name.Length} characters long; the limit is {MaxLength}";
        if (name[0] == '-')
            return $"{what} '{name}' starts with a hyphen";
        foreach (var c in name)
        {
            if (!IsNameChar(c))
                return $"{what} '{Printable(name)}' contains '{Printable(c.ToString())}'; allowed are A-Z a-z 0-9 - + / ; . $ _ ( )";
        }
        return null;
    }

    /// <summary>
    /// True when <paramref name="id"/> is all digits: the form of a generated job id, which is the job's
    /// sequence number in its queue. Such ids are reserved: a job pushed with an id of its own can't have one,
    /// and any job can be named by its sequence number in digits.
    /// </summary>
    public static bool IsDigits(string id) => id.Length > 0 && id.AsSpan().IndexOfAnyExceptInRange('0', '9') < 0;

    private static bool IsNameChar(char c) =>
        c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9'
            or '-' or '+' or '/' or ';' or '.' or '$' or '_' or '(' or ')';

    private static string Printable(string s)
    {
        var shown = s.Length > 40 ? s[..40] + "..." : s;
        return string.Concat(shown.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
    }
}
