using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json;

namespace Glance.Tests.Shared;

/// <summary>
/// Real disk images made by qemu-img (the tool that makes most images Glance stores) and the
/// virtual size qemu-img reads back, to compare the service's inspectors with. qemu-img must be
/// there: test.sh installs Debian's qemu-utils; without it these tests fail, saying so, rather
/// than pass unchecked.
/// </summary>
public static class DiskImages
{
    /// <summary>Creates a <paramref name="format"/> image (qemu-img's names: qcow2, vmdk, vpc, vhdx, vdi) of <paramref name="size"/> in <paramref name="directory"/>.</summary>
    public static string Create(string directory, string format, string size, string? options = null)
    {
        var path = Path.Combine(directory, $"{Guid.NewGuid():N}.{format}");
        string[] arguments = options is null ? ["create", "-q", "-f", format, path, size] : ["create", "-q", "-f", format, "-o", options, path, size];
        Run(arguments);
        return path;
    }

    /// <summary>A qcow2 over a backing file (the hypervisor would open the file the header names).</summary>
    public static string Qcow2WithBackingFile(string directory)
    {
        var backing = Create(directory, "qcow2", "1M");
        var path = Path.Combine(directory, $"{Guid.NewGuid():N}.qcow2");
        Run("create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", path, "1M");
        return path;
    }

    /// <summary>A qcow2 whose data lives in an external data file.</summary>
    public static string Qcow2WithDataFile(string directory) =>
        Create(directory, "qcow2", "1M", $"data_file={Path.Combine(directory, $"{Guid.NewGuid():N}.raw")}");

    /// <summary>
    /// A monolithicSparse vmdk whose embedded descriptor was rewritten to name a FLAT extent at
    /// <paramref name="target"/> (CVE-2024-32498: a hypervisor would read that host file as the disk).
    /// </summary>
    public static byte[] VmdkNamingFile(string directory, string target)
    {
        var image = File.ReadAllBytes(Create(directory, "vmdk", "1M"));
        var offset = (int)BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(28)) * 512;
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(36)) * 512;
        var text = System.Text.Encoding.ASCII.GetString(image, offset, length).TrimEnd('\0');
        var rewritten = System.Text.RegularExpressions.Regex.Replace(text, @"RW (\d+) SPARSE ""[^""]*""", $"RW $1 FLAT \"{target}\" 0");
        if (rewritten == text)
        {
            throw new InvalidOperationException("qemu-img's vmdk descriptor has no SPARSE extent line to rewrite");
        }
        image.AsSpan(offset, length).Clear();
        System.Text.Encoding.ASCII.GetBytes(rewritten).CopyTo(image.AsSpan(offset));
        return image;
    }

    /// <summary>The text descriptor of a monolithicFlat vmdk (its data in a second file), as a client would upload it.</summary>
    public static byte[] VmdkDescriptorOnly(string directory) =>
        File.ReadAllBytes(Create(directory, "vmdk", "1M", "subformat=monolithicFlat"));

    /// <summary>qemu-img info's "virtual-size" of the file.</summary>
    public static long VirtualSize(string path, string format)
    {
        using var info = JsonDocument.Parse(Run("info", "--output=json", "-f", format, path));
        return info.RootElement.GetProperty("virtual-size").GetInt64();
    }

    /// <summary>
    /// A minimal ISO 9660 image: 16 empty system sectors, a primary volume descriptor stating
    /// <paramref name="blocks"/> blocks of 2048 bytes, the set terminator and zeros. Written by
    /// hand because neither genisoimage nor xorriso is on the build machines, and the inspector
    /// reads nothing else of an iso.
    /// </summary>
    public static byte[] Iso(int blocks)
    {
        const int Sector = 2048;
        var image = new byte[blocks * Sector];
        var pvd = image.AsSpan(16 * Sector, Sector);
        pvd[0] = 1;
        "CD001"u8.CopyTo(pvd[1..]);
        pvd[6] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(pvd[80..], (uint)blocks);
        BinaryPrimitives.WriteUInt32BigEndian(pvd[84..], (uint)blocks);
        BinaryPrimitives.WriteUInt16LittleEndian(pvd[128..], Sector);
        BinaryPrimitives.WriteUInt16BigEndian(pvd[130..], Sector);
        var terminator = image.AsSpan(17 * Sector, Sector);
        terminator[0] = 255;
        "CD001"u8.CopyTo(terminator[1..]);
        terminator[6] = 1;
        return image;
    }

    private static string Run(params string[] arguments)
    {
        var start = new ProcessStartInfo("qemu-img") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("qemu-img did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(
                $"qemu-img is needed to make the disk images these tests read (apt-get install qemu-utils; test.sh does){(Environment.GetEnvironmentVariable("CI") == "true" ? " and CI=true" : "")}: {e.Message}", e);
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"qemu-img {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}");
            }
            return output.GetAwaiter().GetResult();
        }
    }
}
