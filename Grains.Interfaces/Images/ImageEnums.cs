namespace Glance.Grains.Images;

/// <summary>An image's lifecycle status (Glance's state machine, spec section 3).</summary>
public enum ImageStatus
{
    /// <summary>Created, no data yet.</summary>
    Queued,
    /// <summary>Data is being uploaded.</summary>
    Saving,
    /// <summary>Data present and usable.</summary>
    Active,
    /// <summary>Legacy failure state; never listed.</summary>
    Killed,
    /// <summary>Deleted; terminal and invisible.</summary>
    Deleted,
    /// <summary>Delayed delete in progress.</summary>
    PendingDelete,
    /// <summary>Data hidden from non-admins.</summary>
    Deactivated,
    /// <summary>Data staged for import.</summary>
    Uploading,
    /// <summary>An import is running.</summary>
    Importing,
}

/// <summary>Who may see an image.</summary>
public enum ImageVisibility
{
    /// <summary>Everyone, listed for everyone.</summary>
    Public,
    /// <summary>The owner project only.</summary>
    Private,
    /// <summary>The owner and projects added as members.</summary>
    Shared,
    /// <summary>Everyone by id; listed only on request.</summary>
    Community,
}

/// <summary>A member project's answer to a share.</summary>
public enum MemberStatus
{
    /// <summary>Shared, not yet answered.</summary>
    Pending,
    /// <summary>The member wants it in its list.</summary>
    Accepted,
    /// <summary>The member does not want it in its list.</summary>
    Rejected,
}

/// <summary>Wire names of the enums, exactly as Glance spells them.</summary>
public static class WireNames
{
    /// <summary>The Glance name of a status.</summary>
    public static string Of(ImageStatus status) => status switch
    {
        ImageStatus.Queued => "queued",
        ImageStatus.Saving => "saving",
        ImageStatus.Active => "active",
        ImageStatus.Killed => "killed",
        ImageStatus.Deleted => "deleted",
        ImageStatus.PendingDelete => "pending_delete",
        ImageStatus.Deactivated => "deactivated",
        ImageStatus.Uploading => "uploading",
        ImageStatus.Importing => "importing",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    /// <summary>The Glance name of a visibility.</summary>
    public static string Of(ImageVisibility visibility) => visibility switch
    {
        ImageVisibility.Public => "public",
        ImageVisibility.Private => "private",
        ImageVisibility.Shared => "shared",
        ImageVisibility.Community => "community",
        _ => throw new ArgumentOutOfRangeException(nameof(visibility)),
    };

    /// <summary>The Glance name of a member status.</summary>
    public static string Of(MemberStatus status) => status switch
    {
        MemberStatus.Pending => "pending",
        MemberStatus.Accepted => "accepted",
        MemberStatus.Rejected => "rejected",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    /// <summary>The Glance name of a task status.</summary>
    public static string Of(ImageTaskStatus status) => status switch
    {
        ImageTaskStatus.Pending => "pending",
        ImageTaskStatus.Processing => "processing",
        ImageTaskStatus.Success => "success",
        ImageTaskStatus.Failure => "failure",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    /// <summary>Parses a visibility name; false for anything Glance would reject.</summary>
    public static bool TryParse(string? value, out ImageVisibility visibility)
    {
        foreach (var candidate in Enum.GetValues<ImageVisibility>())
        {
            if (Of(candidate) == value)
            {
                visibility = candidate;
                return true;
            }
        }
        visibility = default;
        return false;
    }

    /// <summary>Parses a member status name; false for anything Glance would reject.</summary>
    public static bool TryParse(string? value, out MemberStatus status)
    {
        foreach (var candidate in Enum.GetValues<MemberStatus>())
        {
            if (Of(candidate) == value)
            {
                status = candidate;
                return true;
            }
        }
        status = default;
        return false;
    }
}
