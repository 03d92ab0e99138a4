using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace Glance.Grains.Storage.FormatInspection;

/// <summary>
/// vmdk with a sparse header at 0 (monolithicSparse, streamOptimized): magic "KDMV", the
/// capacity in 512-byte sectors at 12, the embedded descriptor's offset and size in sectors at 28
/// and 36, the grain directory's offset at 56 (little-endian). The descriptor is read too, for
/// safety as Glance's inspector checks it (CVE-2024-32498 class): only the create types that keep
/// their data inside the file, no extent naming another file, no footer (a stream cannot go back
/// to it). A bare text descriptor (its data in other files) has no sparse header: not a vmdk here.
/// </summary>
public sealed partial class VmdkInspector : IFormatInspector
{
    private const int HeaderSize = 64;
    private const int MaxDescriptor = 64 << 10;
    private const ulong GrainDirectoryAtEnd = ulong.MaxValue;

    private readonly CaptureRegion _header = new(0, HeaderSize);
    private CaptureRegion? _descriptor;
    private long? _virtualSize;
    private string? _unsafe;
    private bool _recognised;

    public string Format => "vmdk";

    public bool Done { get; private set; }

    public string? Unsafe => _recognised ? _unsafe : null;

    public void Feed(long offset, ReadOnlySpan<byte> data)
    {
        if (Done)
        {
            return;
        }
        if (!_header.Complete)
        {
            _header.Feed(offset, data);
            if (!_header.Complete)
            {
                return;
            }
            if (!ParseHeader(_header.Bytes))
            {
                Done = true;
                return;
            }
        }
        if (_descriptor is null)
        {
            Done = true;
            return;
        }
        _descriptor.Feed(offset, data);
        if (_descriptor.Complete)
        {
            _unsafe ??= CheckDescriptor(_descriptor.Bytes);
            Done = true;
        }
        else if (_descriptor.Missed(offset + data.Length))
        {
            _unsafe ??= "the vmdk descriptor could not be read";
            Done = true;
        }
    }

    public long? VirtualSize(long totalSize)
    {
        if (_recognised && _descriptor is { Complete: false } && !Done)
        {
            // The stream ended before the descriptor: nothing checked it.
            _unsafe ??= "the vmdk descriptor lies beyond the end of the data";
        }
        return _recognised ? _virtualSize : null;
    }

    private bool ParseHeader(ReadOnlySpan<byte> header)
    {
        if (!header[..4].SequenceEqual("KDMV"u8))
        {
            return false;
        }
        var sectors = BinaryPrimitives.ReadUInt64LittleEndian(header[12..]);
        if (sectors is 0 or > long.MaxValue / 512)
        {
            return false;
        }
        _recognised = true;
        _virtualSize = (long)(sectors * 512);
        var descriptorOffset = BinaryPrimitives.ReadUInt64LittleEndian(header[28..]);
        var descriptorSize = BinaryPrimitives.ReadUInt64LittleEndian(header[36..]);
        if (BinaryPrimitives.ReadUInt64LittleEndian(header[56..]) == GrainDirectoryAtEnd)
        {
            _unsafe = "a vmdk with a footer is not supported";
        }
        else if (descriptorOffset == 0 || descriptorSize == 0 || descriptorOffset > long.MaxValue / 1024)
        {
            _unsafe = "the vmdk has no embedded descriptor";
        }
        else
        {
            _descriptor = new CaptureRegion((long)descriptorOffset * 512, (int)Math.Min(descriptorSize * 512, MaxDescriptor));
        }
        return true;
    }

    private static string? CheckDescriptor(ReadOnlySpan<byte> bytes)
    {
        var text = Encoding.ASCII.GetString(bytes.IndexOf((byte)0) is var end and >= 0 ? bytes[..end] : bytes);
        var createType = CreateType().Match(text) is { Success: true } m ? m.Groups[1].Value : null;
        if (createType is not ("monolithicSparse" or "streamOptimized"))
        {
            return $"vmdk create type '{createType ?? "(none)"}' is not supported";
        }
        var extents = Extent().Matches(text);
        if (extents.Count == 0)
        {
            return "the vmdk descriptor names no extent";
        }
        foreach (Match extent in extents)
        {
            var (kind, file) = (extent.Groups[1].Value, extent.Groups[2].Value);
            if (kind != "SPARSE" || file.Contains('/') || file.Contains('\\'))
            {
                return $"the vmdk extent refers to another file: {kind} \"{file}\"";
            }
        }
        return null;
    }

    [GeneratedRegex(@"^\s*createType\s*=\s*""([^""]*)""", RegexOptions.Multiline)]
    private static partial Regex CreateType();

    [GeneratedRegex(@"^\s*(?:RW|RDONLY|NOACCESS)\s+\d+\s+(\w+)\s+""([^""]*)""", RegexOptions.Multiline)]
    private static partial Regex Extent();
}
