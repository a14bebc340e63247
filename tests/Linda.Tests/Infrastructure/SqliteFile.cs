using Microsoft.Data.Sqlite;

namespace Linda.Tests.Infrastructure;

/// <summary>A spec's own statements on a queue's SQLite file (a trigger that fails writes, a look at a table).</summary>
public static class SqliteFile
{
    /// <summary>Runs <paramref name="sql"/> on the file at <paramref name="path"/>, on a connection of its own.</summary>
    public static void Execute(string path, string sql)
    {
        using var connection = new SqliteConnection(Linda.Persistence.SqlitePersistence.ConnectionString(path));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>The first column of every row <paramref name="sql"/> selects, as text.</summary>
    public static List<string> Strings(string path, string sql)
    {
        using var connection = new SqliteConnection(Linda.Persistence.SqlitePersistence.ConnectionString(path));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
            values.Add(reader.GetString(0));
        return values;
    }
}
